// Runs the compiled test files (dist/test/…) several at a time, each in its own process group with
// a time limit, and says as soon as a file fails what failed; at the end, the slowest files and
// one line of totals. `npm test` runs the fast suite, `npm run test:slow` the slow one.
//
//   node scripts/test.js [fast|slow|all] [--jobs N] [--timeout SECONDS] [--verbose] [--dist DIR] [FILE…]
//
// --dist: test files other than dist/test's (the runner's own tests); no times are kept then.
//
// Files run concurrently because none shares anything with another: each test makes its own home
// in a fresh temporary folder and its servers listen on port 0. A file that needs the machine to
// itself (it measures memory) says so in FILES below, which also holds the slow suite and the
// files allowed more than the default time. A file that runs past its time is killed with its
// whole process group, and the tests it had begun and not finished are named.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PREFIX } from './test-progress.js';

const ROOT = resolve(import.meta.dirname, '..');
const FOLDERS = ['unit', 'svelte', 'integration', 'browser'];
/** Seconds a file may take, unless FILES allows it more: several times its time on a busy 2-core machine. */
const DEFAULT_TIMEOUT_S = { unit: 120, svelte: 60, integration: 300, browser: 300 };
/** Where each run's times per file are kept, to start the longest files first next time. */
const TIMES = join(ROOT, 'test', 'artifacts', 'test-times.json');
/** Each suite's totals, for .ci/run's last line. */
const summaryFile = (suite) => join(ROOT, 'test', 'artifacts', `test-summary-${suite}.json`);

/**
 * The files that are not plain fast ones: `slow` puts a file in `npm run test:slow`; `alone` runs
 * it with nothing beside it; `timeoutS` allows it more than the default; `seconds` is about how
 * long it takes on a quiet 2-core machine (the order files start in, until a run has measured it).
 */
const FILES = {
  // The slow suite. It measures the 64² networks' memory on wasm, so nothing runs beside it.
  'integration/gan-memory-64.test.js': { slow: true, alone: true, timeoutS: 1200, seconds: 160 },
  'integration/project-recovery-64.test.js': { slow: true, timeoutS: 1200, seconds: 120 }, // 150 steps at 64²
  'integration/bench-bundle.test.js': { slow: true, seconds: 15 }, // bundles the trainer, runs the bundle
  // The long walks through the UI: the first hour, the gallery and favourites, the exports.
  'browser/first-hour.test.js': { slow: true, timeoutS: 600, seconds: 90 },
  'browser/gallery.test.js': { slow: true, timeoutS: 600, seconds: 90 },
  'browser/project.test.js': { slow: true, timeoutS: 600, seconds: 120 }, // trains a tick, projects twice
  'browser/export.test.js': { slow: true, timeoutS: 600, seconds: 90 },
  'browser/ui-truth.test.js': { slow: true, timeoutS: 600, seconds: 90 }, // trains, draws, keeps, prints
  'browser/kid-curve.test.js': { slow: true, alone: true, timeoutS: 2400, seconds: 150 }, // a run, its fork, 3 scores
  // The files that cost the most CPU (seconds: CI on 2 cores, 2026-12-05): together 2/5 of what
  // the fast suite cost. Each is whole work that cannot be shared — trainer processes started
  // ~20 times (kill -9 ten times, bit-exact resume per replica count), InceptionV3 over the
  // plates, the CLI flow on webgpu and wasm, export prints with ESRGAN, hostile files through
  // every request — and the fast suite keeps a quicker test of each area (supervisor-rules,
  // training-dataset, unit/insight-*, export-prints, bad-input, gallery-*). Both suites run in CI.
  'integration/training-runs.test.js': { slow: true, timeoutS: 600, seconds: 180 },
  'integration/readme-walk.test.js': { slow: true, timeoutS: 600, seconds: 70 }, // trains 3 ticks, scores one
  'integration/insight-cli.test.js': { slow: true, timeoutS: 600, seconds: 127 },
  'integration/cli-webgpu-flow.test.js': { slow: true, timeoutS: 600, seconds: 86 },
  'integration/cli-insight-webgpu.test.js': { slow: true, timeoutS: 900, seconds: 120 }, // lavapipe: features, projection
  'integration/training-reliability.test.js': { slow: true, timeoutS: 600, seconds: 82 },
  'integration/training-processes.test.js': { slow: true, seconds: 78 },
  'integration/export-cli.test.js': { slow: true, timeoutS: 600, seconds: 58 },
  'integration/afar-processes.test.js': { slow: true, seconds: 59 },
  'integration/fuzz.test.js': { slow: true, seconds: 51 },
  'integration/gallery.test.js': { slow: true, timeoutS: 600, seconds: 47 },
  'integration/home-ownership.test.js': { slow: true, seconds: 46 },
  // The fast suite's longest files: more time, and started first.
  'integration/cli-messages.test.js': { timeoutS: 600, seconds: 60 },
  'integration/gan-train.test.js': { timeoutS: 900, seconds: 35 },
  'integration/gan-parallel.test.js': { timeoutS: 600, seconds: 20 },
  'integration/gan-webgpu.test.js': { seconds: 14 },
  // It times the studio's event loop during an ESRGAN print: another file's work beside it
  // would be what it measured (seen: a 325 ms gap with the machine's load at 25).
  'integration/export-process.test.js': { alone: true, seconds: 10 },
  // Three scores, each in a fresh nice-19 process (tfjs, the feature network): alone, since a nice-19
  // process beside other busy tests gets almost no CPU (as it should beside a trainer).
  'integration/checkpoint-scores.test.js': { slow: true, alone: true, timeoutS: 1800, seconds: 240 },
  'integration/kid-fork.test.js': { slow: true, alone: true, timeoutS: 1800, seconds: 120 }, // a run, its fork, 2 scores
  // Projections: 300 steps of the tiny network, the CLI four times, a Ctrl-C.
  'integration/insight-project.test.js': { timeoutS: 900, seconds: 200 },
  // Birds in passes and projection steps at a 256² architecture (32 channels): memory flat.
  'integration/insight-memory-256.test.js': { seconds: 30 },
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    jobs: { type: 'string', default: String(Math.max(2, availableParallelism())) },
    verbose: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    dist: { type: 'string' },
  },
});
const DIST_TEST = resolve(values.dist ?? join(ROOT, 'dist', 'test'));
/** Times and totals are kept for the repository's own tests only. */
const keep = values.dist === undefined;
const suite = ['fast', 'slow', 'all'].includes(positionals[0]) ? positionals.shift() : 'all';
const jobs = Number(values.jobs);
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a whole number ≥ 1 (got ${values.jobs})`);

/** Every test file of the suite, or the ones named (paths or names relative to dist/test). */
function testFiles() {
  if (!existsSync(DIST_TEST)) fail('dist/test is missing: run `npm run build` first');
  const all = FOLDERS.flatMap((folder) =>
    existsSync(join(DIST_TEST, folder))
      ? readdirSync(join(DIST_TEST, folder))
          .filter((n) => n.endsWith('.test.js'))
          .map((n) => `${folder}/${n}`)
      : [],
  );
  for (const name of keep ? Object.keys(FILES) : [])
    if (!all.includes(name)) fail(`scripts/test.js names ${name}, which is not a test file (renamed?)`);
  if (positionals.length > 0)
    return positionals.map((p) => {
      const name = relative(DIST_TEST, resolve(p.endsWith('.js') ? p : join(DIST_TEST, `${p}.test.js`)));
      if (!all.includes(name)) fail(`no test file ${p} (looked for dist/test/${name})`);
      return name;
    });
  return all.filter((name) => suite === 'all' || (FILES[name]?.slow ? 'slow' : 'fast') === suite);
}

function fail(message) {
  console.error(`test: ${message}`);
  process.exit(2);
}

function previousTimes() {
  try {
    return JSON.parse(readFileSync(TIMES, 'utf8'));
  } catch {
    return {};
  }
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const cpuNote = (r) => (r.cpu === null ? '' : ` (cpu ${r.cpu.toFixed(1)} s)`);
const indent = (text) => text.replace(/^(?=.)/gm, '    ');

/** The counts node's spec reporter prints at the end of a file (ℹ pass 3 …). */
function counts(output) {
  const get = (name) => Number(new RegExp(`^ℹ ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? 0);
  return {
    pass: get('pass'),
    fail: get('fail'),
    cancelled: get('cancelled'),
    skipped: get('skipped'),
    todo: get('todo'),
  };
}

/** Runs one file; resolves with what happened. */
function runFile(name) {
  const timeoutS = Number(values.timeout ?? FILES[name]?.timeoutS ?? DEFAULT_TIMEOUT_S[name.split('/')[0]]);
  const args = [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(ROOT, 'scripts', 'test-progress.js')}`,
    '--test-reporter-destination=stderr',
    join(DIST_TEST, name),
  ];
  const started = performance.now();
  // CPU seconds, where GNU time is installed: on a busy machine the wall time says little.
  const cpuFile = TIME ? join(tmpdir(), `plumage-test-cpu-${process.pid}-${++cpuFiles}`) : null;
  const [command, argv] = cpuFile
    ? [TIME, ['-f', '%U %S', '-o', cpuFile, process.execPath, ...args]]
    : [process.execPath, args];
  // Its own process group, so a timeout ends the file and everything it started.
  const child = spawn(command, argv, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv,
  });
  running.add(child);
  let output = '';
  let stderr = '';
  const underWay = new Map(); // test name → how many of that name have begun and not ended
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, timeoutS * 1000);
  return new Promise((done) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const other = [];
      for (const line of stderr.split('\n')) {
        const m = new RegExp(`^${PREFIX} (begin|end) (.*)$`).exec(line);
        if (!m) {
          if (line) other.push(line);
          continue;
        }
        const test = JSON.parse(m[2]);
        underWay.set(test, (underWay.get(test) ?? 0) + (m[1] === 'begin' ? 1 : -1));
      }
      const file = join(DIST_TEST, name);
      const hung = [...underWay].filter(([test, n]) => n > 0 && resolve(ROOT, test) !== file).map(([test]) => test);
      const ms = performance.now() - started;
      const c = counts(output);
      const ok = !timedOut && code === 0 && signal === null;
      const cpu = cpuSeconds(cpuFile);
      done({ name, ms, cpu, ok, timedOut, timeoutS, hung, code, signal, counts: c, output, stderr: other.join('\n') });
    });
  });
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
let cpuFiles = 0;
/** User + system seconds of a file's processes (those its processes waited for), or null. */
function cpuSeconds(file) {
  if (!file) return null;
  try {
    const last = readFileSync(file, 'utf8').trim().split('\n').at(-1);
    const [user, sys] = last.split(' ').map(Number);
    return Number.isFinite(user + sys) ? user + sys : null;
  } catch {
    return null; // killed before it could write
  } finally {
    rmSync(file, { force: true });
  }
}

const running = new Set();
// Not NODE_TEST_CONTEXT: run from inside a test (the runner's own), it would make each file's
// node --test speak the parent runner's binary protocol instead of printing its report.
const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
const childEnv = { ...inherited, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    for (const child of running) killGroup(child);
    process.exit(130);
  });

function report(r) {
  const what = r.counts.pass + r.counts.fail + r.counts.cancelled;
  if (r.ok) {
    const skipped = r.counts.skipped ? `, ${r.counts.skipped} skipped` : '';
    console.log(`✔ ${r.name}  ${seconds(r.ms)}${cpuNote(r)}  (${what} tests${skipped})`);
    if (values.verbose) console.log(indent(r.output));
    return;
  }
  const why = r.timedOut
    ? `timed out after ${r.timeoutS} s and was killed` +
      (r.hung.length ? `; still running: ${r.hung.map((t) => `“${t}”`).join(', ')}` : '')
    : r.counts.fail || r.counts.cancelled
      ? `${r.counts.fail + r.counts.cancelled} of ${what} tests failed`
      : `exited with ${r.signal ?? `code ${r.code}`}`;
  console.log(`✖ ${r.name}  ${seconds(r.ms)}${cpuNote(r)}  ${why}`);
  console.log(indent(r.output.trimEnd()));
  if (r.stderr.trim()) console.log(indent(`stderr:\n${r.stderr.trimEnd()}`));
}

const files = testFiles();
const before = keep ? previousTimes() : {};
const expected = (name) => before[name] ?? FILES[name]?.seconds ?? 0;
// Files that must run alone first, then the rest longest first, so the last to finish are short.
const queue = [...files].sort(
  (a, b) => Number(!!FILES[b]?.alone) - Number(!!FILES[a]?.alone) || expected(b) - expected(a),
);
console.log(`▶ ${suite}: ${files.length} files, ${jobs} at a time (load ${load()})`);
const t0 = performance.now();
const results = [];
await new Promise((finished) => {
  let active = 0;
  let aloneActive = false;
  const next = () => {
    while (queue.length > 0 && active < jobs && !aloneActive) {
      const alone = !!FILES[queue[0]]?.alone;
      if (alone && active > 0) break; // wait for the others to finish
      const name = queue.shift();
      active++;
      aloneActive = alone;
      void runFile(name).then((r) => {
        active--;
        aloneActive = false;
        results.push(r);
        report(r);
        next();
      });
    }
    if (active === 0 && queue.length === 0) finished();
  };
  next();
});

if (keep) mkdirSync(join(ROOT, 'test', 'artifacts'), { recursive: true });
if (keep)
  writeFileSync(
    TIMES,
    `${JSON.stringify({ ...previousTimes(), ...Object.fromEntries(results.map((r) => [r.name, Math.round(r.ms / 100) / 10])) }, null, 1)}\n`,
  );
const failed = results.filter((r) => !r.ok);
const total = results.reduce(
  (t, r) => ({
    pass: t.pass + r.counts.pass,
    fail: t.fail + r.counts.fail + r.counts.cancelled,
    skipped: t.skipped + r.counts.skipped,
  }),
  { pass: 0, fail: 0, skipped: 0 },
);
// A file that failed without a failing test (it crashed, or timed out) counts as one failure.
total.fail += failed.filter((r) => r.counts.fail + r.counts.cancelled === 0).length;
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 8);
console.log(`\nslowest: ${slowest.map((r) => `${r.name} ${seconds(r.ms)}${cpuNote(r)}`).join(', ')}`);
if (failed.length) console.log(`failed: ${failed.map((r) => r.name).join(', ')}`);
const cpu = results.every((r) => r.cpu !== null)
  ? `, cpu ${seconds(results.reduce((t, r) => t + r.cpu, 0) * 1000)}`
  : '';
console.log(
  `${suite}: ${results.length} files in ${seconds(performance.now() - t0)}${cpu}, ${jobs} at a time (load ${load()})`,
);
if (keep && positionals.length === 0) {
  const elapsedS = Math.round((performance.now() - t0) / 1000);
  writeFileSync(summaryFile(suite), `${JSON.stringify({ ...total, files: results.length, seconds: elapsedS })}\n`);
}
console.log(`${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped`);
process.exit(failed.length ? 1 : 0);
