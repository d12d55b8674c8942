// scripts/apt-backports.js, run as .ci/run runs it, on apt configurations written into a folder
// standing for / (etc/apt, etc/os-release, var/lib/apt/lists): what it changes, and what it leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'apt-backports.js');
const DEBIAN = 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n';
const KEYRING = 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n';
const SECURITY =
  'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n' + KEYRING;

/** A fake root holding `files` (path → text); runs the script on it. */
function onRoot(files: Record<string, string>, args: string[] = []) {
  const tmp = tempDir('apt');
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(tmp.dir, path)), { recursive: true });
    writeFileSync(join(tmp.dir, path), text);
  };
  write('etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n');
  for (const [path, text] of Object.entries(files)) write(path, text);
  const run = () => spawnSync(process.execPath, [SCRIPT, '--root', tmp.dir, ...args], { encoding: 'utf8' });
  const read = (path: string) => readFileSync(join(tmp.dir, path), 'utf8');
  return { dir: tmp.dir, run, read, cleanup: tmp.cleanup };
}

test('deb822: backports joins the Suites of the release’s own stanza, not the security one listed first', (t) => {
  const sources = `${SECURITY}\n# the main archive\n${DEBIAN}${KEYRING}`;
  const root = onRoot({ 'etc/apt/sources.list.d/debian.sources': sources });
  t.after(root.cleanup);
  chmodSync(join(root.dir, 'etc/apt/sources.list.d/debian.sources'), 0o640);
  const r = root.run();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /added bookworm-backports to the Suites of the bookworm entry/);
  assert.equal(
    root.read('etc/apt/sources.list.d/debian.sources'),
    sources.replace('Suites: bookworm bookworm-updates', 'Suites: bookworm bookworm-updates bookworm-backports'),
    'one field changed, every other byte kept',
  );
  assert.equal(statSync(join(root.dir, 'etc/apt/sources.list.d/debian.sources')).mode & 0o777, 0o640);
  const again = root.run();
  assert.equal(again.status, 0);
  assert.match(again.stdout, /already enabled/);
  assert.equal((root.read('etc/apt/sources.list.d/debian.sources').match(/backports/g) ?? []).length, 1);
});

test('deb822: a disabled stanza and a third party’s stanza for the same release are left alone', (t) => {
  const docker = 'Types: deb\nURIs: https://vendor.example/linux/debian\nSuites: bookworm\nComponents: stable\n';
  const disabled = `Enabled: no\n${DEBIAN}${KEYRING}`;
  const root = onRoot({
    'etc/apt/sources.list.d/a-vendor.sources': docker,
    'etc/apt/sources.list.d/debian.sources': `${disabled}\n${DEBIAN}`,
    // apt's copy of each archive's Release file says whose it is.
    'var/lib/apt/lists/vendor.example_linux_debian_dists_bookworm_InRelease': 'Origin: Vendor\nSuite: bookworm\n',
    'var/lib/apt/lists/mirror.example_debian_dists_bookworm_InRelease': 'Origin: Debian\nSuite: stable\n',
  });
  t.after(root.cleanup);
  const r = root.run();
  assert.equal(r.status, 0, r.stderr);
  assert.equal(root.read('etc/apt/sources.list.d/a-vendor.sources'), docker);
  assert.equal(
    root.read('etc/apt/sources.list.d/debian.sources'),
    `${disabled}\n${DEBIAN.replace('bookworm-updates', 'bookworm-updates bookworm-backports')}`,
  );
});

test('one-line sources.list: the release’s line is copied beneath itself for backports; comments do not count', (t) => {
  const list =
    '# deb http://mirror.example/debian bookworm-backports main\n' +
    'deb [arch=amd64] http://mirror.example/debian bookworm main contrib\n' +
    'deb http://mirror.example/debian-security bookworm-security main\n';
  const root = onRoot({
    'etc/apt/sources.list': list,
    'var/lib/apt/lists/mirror.example_debian_dists_bookworm_Release': 'Origin: Debian\n',
  });
  t.after(root.cleanup);
  const r = root.run();
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    root.read('etc/apt/sources.list'),
    list.replace(
      'contrib\n',
      'contrib\ndeb [arch=amd64] http://mirror.example/debian bookworm-backports main contrib\n',
    ),
  );
  root.run();
  assert.equal((root.read('etc/apt/sources.list').match(/^deb .*bookworm-backports/gm) ?? []).length, 1);
});

test('backports already enabled anywhere: nothing is written', (t) => {
  const list = 'deb http://mirror.example/debian bookworm-backports main\n';
  const sources = `${DEBIAN}${KEYRING}`;
  const root = onRoot({ 'etc/apt/sources.list.d/extra.list': list, 'etc/apt/sources.list.d/debian.sources': sources });
  t.after(root.cleanup);
  const r = root.run();
  assert.equal(r.status, 0);
  assert.match(r.stdout, /bookworm-backports is already enabled in .*extra\.list/);
  assert.equal(root.read('etc/apt/sources.list.d/debian.sources'), sources);
});

test('no Debian entry to extend: exit 1 naming what was read and what to do, nothing written', (t) => {
  const list = 'deb http://mirror.example/debian bookworm main\n'; // whose it is, unknown: no Release file yet
  const root = onRoot({ 'etc/apt/sources.list': list, 'etc/apt/sources.list.d/old.list.disabled': list });
  t.after(root.cleanup);
  const r = root.run();
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no enabled 'deb' entry of Debian's archive for bookworm in .*etc\/apt\/sources\.list \(/);
  assert.doesNotMatch(r.stderr, /old\.list\.disabled/, 'apt does not read that file, so neither does the script');
  assert.match(r.stderr, /run apt-get update first/);
  assert.equal(root.read('etc/apt/sources.list'), list);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
});
