// Enables Debian's backports suite on this machine, for CI's Mesa (see .ci/run), by editing the
// machine's own apt source entry for its release: the new suite is read from the same mirror,
// with the same keyring and components, so no host is named here and a machine behind its own
// mirror (or a snapshot) keeps it.
//
//   node scripts/apt-backports.js [--root DIR] [--codename NAME]
//
// deb822 (/etc/apt/sources.list.d/*.sources, Debian 12's default): the stanza whose Suites field
// holds the release itself (`bookworm`, not `bookworm-security`: suites are matched as whole
// words, never by a prefix; a disabled stanza is skipped) and that is Debian's own archive (see
// isDebian) gets `bookworm-backports` added to that field. One-line format (sources.list,
// *.list): the release's `deb` line is copied beneath itself with the suite replaced, since a
// line names one suite. Nothing changes when any enabled entry
// already names backports, so it runs again harmlessly. A file is replaced whole (written beside
// it, then renamed), keeping its mode. Exit 0: enabled or already there; 1: no entry to extend.
// --root: a folder standing for / (its etc/ and var/lib/apt/lists/), for the tests.
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string', default: '/' }, codename: { type: 'string' } } });
const root = values.root;
const codename = values.codename ?? osCodename();
const backports = `${codename}-backports`;

function osCodename() {
  const release = readFileSync(join(root, 'etc/os-release'), 'utf8');
  const name = /^VERSION_CODENAME=["']?([a-z]+)/m.exec(release)?.[1];
  if (!name) fail(`${join(root, 'etc/os-release')} names no VERSION_CODENAME: pass --codename`);
  return name;
}

function fail(message) {
  console.error(`apt-backports: ${message}`);
  process.exit(1);
}

/** The files apt reads (it ignores other names, such as `*.disabled` or `*.save`). */
function sourceFiles() {
  const dir = join(root, 'etc/apt/sources.list.d');
  const files = [join(root, 'etc/apt/sources.list')];
  try {
    for (const name of readdirSync(dir).sort()) if (/^[\w.-]+\.(list|sources)$/.test(name)) files.push(join(dir, name));
  } catch {
    // no sources.list.d: only the classic file
  }
  return files.filter((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

const words = (value) => value.trim().split(/\s+/).filter(Boolean);

/**
 * deb822 stanzas with the line range of each field. A field is `Name: value` plus continuation
 * lines that start with white space; `#` lines are comments; a blank line ends a stanza.
 */
function stanzas(lines) {
  const found = [];
  let current = null;
  let field = null;
  lines.forEach((line, i) => {
    if (/^\s*$/.test(line)) {
      current = null;
      field = null;
      return;
    }
    if (line.startsWith('#')) return;
    if (!current) found.push((current = { fields: new Map() }));
    if (/^\s/.test(line) && field) {
      field.value += `\n${line}`;
      field.last = i;
      return;
    }
    const m = /^([\w-]+):(.*)$/.exec(line);
    if (!m) return;
    field = { value: m[2], last: i };
    current.fields.set(m[1].toLowerCase(), field);
  });
  return found.map((s) => ({
    get: (name) => s.fields.get(name),
    enabled: !/^\s*no\s*$/i.test(s.fields.get('enabled')?.value ?? 'yes'),
    debs: words(s.fields.get('types')?.value ?? '').includes('deb'),
  }));
}

/** One-line entries: `deb [options] URI SUITE COMPONENT…`, with the suite's position. */
const LINE = /^(\s*deb\s+(?:\[[^\]]*\]\s+)?\S+\s+)(\S+)(\s.*)$/;

const files = sourceFiles().map((path) => ({ path, lines: readFileSync(path, 'utf8').split('\n') }));

// Already there?
for (const { path, lines } of files) {
  const has = path.endsWith('.sources')
    ? stanzas(lines).some((s) => s.enabled && s.debs && words(s.get('suites')?.value ?? '').includes(backports))
    : lines.some((l) => LINE.exec(l)?.[2] === backports);
  if (has) {
    console.log(`apt-backports: ${backports} is already enabled in ${path}`);
    process.exit(0);
  }
}

function replace(path, lines) {
  const next = `${path}.apt-backports-${process.pid}`;
  writeFileSync(next, lines.join('\n'), { mode: statSync(path).mode });
  renameSync(next, path);
}

/**
 * Whether an entry is Debian's own archive, not a third party's that also names the release
 * (Docker's, say, whose mirror has no backports): its keyring is Debian's, or the Release file
 * apt fetched from it says `Origin: Debian` (apt names that file after the URI: scheme dropped,
 * `/` → `_`).
 */
function isDebian(uri, signedBy) {
  if (/debian-archive-keyring/.test(signedBy ?? '')) return true;
  const base = `${uri.replace(/^[a-z+]+:\/\//, '').replace(/\/*$/, '/')}dists/${codename}/`.replaceAll('/', '_');
  for (const name of ['InRelease', 'Release']) {
    try {
      return /^Origin: Debian$/m.test(readFileSync(join(root, 'var/lib/apt/lists', base + name), 'utf8'));
    } catch {
      // not fetched yet
    }
  }
  return false;
}

for (const { path, lines } of files) {
  if (path.endsWith('.sources')) {
    const entry = stanzas(lines).find(
      (s) =>
        s.enabled &&
        s.debs &&
        words(s.get('suites')?.value ?? '').includes(codename) &&
        words(s.get('uris')?.value ?? '').some((uri) => isDebian(uri, s.get('signed-by')?.value)),
    );
    if (!entry) continue;
    const suites = entry.get('suites');
    lines[suites.last] = `${lines[suites.last].replace(/\s+$/, '')} ${backports}`;
    replace(path, lines);
    console.log(`apt-backports: added ${backports} to the Suites of the ${codename} entry in ${path}`);
    process.exit(0);
  }
  const at = lines.findIndex((l) => {
    const m = LINE.exec(l);
    return m?.[2] === codename && isDebian(m[1].trim().split(/\s+/).at(-1), /signed-by=(\S+)/.exec(m[1])?.[1]);
  });
  if (at < 0) continue;
  const [, head, , tail] = LINE.exec(lines[at]);
  lines.splice(at + 1, 0, `${head}${backports}${tail}`);
  replace(path, lines);
  console.log(`apt-backports: added a ${backports} line beneath the ${codename} line in ${path}`);
  process.exit(0);
}
fail(
  `no enabled 'deb' entry of Debian's archive for ${codename} in ` +
    `${files.map((f) => f.path).join(', ') || join(root, 'etc/apt')} (run apt-get update first, so its ` +
    `Release file tells whose it is): add ${backports} to your Debian mirror's entry by hand`,
);
