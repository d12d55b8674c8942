import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary } from '../../preload/contract.js';
import { attachmentHeader, batchZipName, exportFile, isExportKey } from '../../main/core/api/downloads.js';
import { PORT_FILE, exportKey, exportKeys, exportsDir } from '../../main/core/home-layout.js';
import { lastServerPort, rememberServerPort } from '../../main/core/api/token.js';
import { pausedLine, resumeCommand, shellQuote } from '../../main/core/train/pause-report.js';
import { cookieValues, tokenCookieName } from '../../main/server/server.js';
import { tempDir } from '../helpers/paths.js';

// The small rules behind using Plumage from another machine: download keys, headers, the
// remembered port, the cookie per server, and the words a paused run is reported in.

test('a download key is a plain path under exports/: no .., no absolute path, no hidden file, no backslash', () => {
  for (const good of ['plate-001-avis.pdf', 'walk/walk-0001.png', 'Ærø – “bird”.png', 'a b.zip'])
    assert.ok(isExportKey(good), good);
  for (const bad of [
    '',
    '../plumage.db',
    'walk/../../plumage.db',
    '/etc/passwd',
    'walk//x.png',
    'walk/',
    '.plate.pdf.123.tmp',
    'walk/.hidden',
    '..',
    '.',
    'a\\..\\b',
    'C:x.png',
    'a\u0000b',
    'line\nbreak.png',
    'x'.repeat(1025),
  ])
    assert.equal(isExportKey(bad), false, JSON.stringify(bad));
});

test('exportKey names a file under the home’s exports/, through the home’s path or a link to it; elsewhere none', async () => {
  const tmp = tempDir('export-key');
  try {
    const home = join(tmp.dir, 'home');
    mkdirSync(join(exportsDir(home), 'walk'), { recursive: true });
    const file = join(exportsDir(home), 'walk', 'walk-0001.png');
    writeFileSync(file, 'x');
    symlinkSync(home, join(tmp.dir, 'link'));
    assert.equal(exportKey(home, file), 'walk/walk-0001.png');
    assert.equal(exportKey(join(tmp.dir, 'link'), file), 'walk/walk-0001.png', 'the home named through a link');
    assert.equal(exportKey(home, join(tmp.dir, 'link', 'exports', 'walk', 'walk-0001.png')), 'walk/walk-0001.png');
    assert.equal(exportKey(home, exportsDir(home)), null, 'the folder itself is no file');
    assert.equal(exportKey(home, join(home, 'plumage.db')), null);
    assert.equal(exportKey(home, join(tmp.dir, 'prints', 'x.pdf')), null);
    assert.deepEqual(exportKeys(home, [file, join(tmp.dir, 'x.pdf')]), { [file]: 'walk/walk-0001.png' });
    assert.equal(await exportFile(home, 'walk/walk-0001.png'), file);
    assert.equal(await exportFile(home, 'walk'), null, 'a folder');
  } finally {
    tmp.cleanup();
  }
});

test('Content-Disposition saves under the name, whole in UTF-8 and as an ASCII stand-in', () => {
  assert.equal(
    attachmentHeader('plate-001.pdf'),
    `attachment; filename="plate-001.pdf"; filename*=UTF-8''plate-001.pdf`,
  );
  assert.equal(
    attachmentHeader(`Ærø's "bird"; 100%.png`),
    `attachment; filename="_r_'s _bird__ 100_.png"; filename*=UTF-8''%C3%86r%C3%B8%27s%20%22bird%22%3B%20100%25.png`,
  );
  assert.equal(batchZipName(undefined), 'plumage-exports.zip');
  assert.equal(batchZipName('../../etc/passwd'), 'etc-passwd.zip');
  assert.equal(batchZipName('prints.zip'), 'prints.zip');
  assert.equal(batchZipName('a\nb'), 'a-b.zip');
});

test('the port serve had is kept beside its token (owner-only); anything that is not a port is ignored', () => {
  const tmp = tempDir('server-port');
  try {
    assert.equal(lastServerPort(tmp.dir), null);
    rememberServerPort(tmp.dir, 41234);
    assert.equal(lastServerPort(tmp.dir), 41234);
    if (process.platform !== 'win32') assert.equal(statSync(join(tmp.dir, PORT_FILE)).mode & 0o777, 0o600);
    for (const junk of ['0', '65536', 'http', '12.5', '-1', '']) {
      writeFileSync(join(tmp.dir, PORT_FILE), junk);
      assert.equal(lastServerPort(tmp.dir), null, junk);
    }
  } finally {
    tmp.cleanup();
  }
});

test('every cookie of the server’s name is a candidate; malformed ones are skipped, not fatal', () => {
  const name = tokenCookieName('a'.repeat(32));
  assert.match(name, /^plumage_[0-9a-f]{16}$/);
  assert.notEqual(name, tokenCookieName('b'.repeat(32)));
  assert.deepEqual(cookieValues(`x=1; ${name}=bogus; ${name}=%E0; other=2; ${name}=t%3Dk`, name), ['bogus', 't=k']);
  assert.deepEqual(cookieValues(undefined, name), []);
  assert.deepEqual(cookieValues(`${name}x=1; x${name}=2`, name), []);
});

const run = {
  id: 1,
  name: 'tiny on plates',
  datasetFolder: "/data/Audubon's plates",
  preset: 'tiny',
  state: 'paused',
  resumeKimg: 4.4,
  error: null,
  lastCheckpoint: { kimg: 4.4 },
} as unknown as RunSummary;

test('a paused run is reported with the kimg it resumes from and a command a shell takes as it is', () => {
  assert.equal(shellQuote('/plain/path-1.0'), '/plain/path-1.0');
  assert.equal(shellQuote("Audubon's plates"), `'Audubon'\\''s plates'`);
  const command = resumeCommand(run, { folder: run.datasetFolder, resolution: 64, crop: 'centre' }, '/h o/me');
  assert.equal(
    command,
    `plumage train --dataset '/data/Audubon'\\''s plates' --preset tiny --resolution 64 --crop centre --home '/h o/me'`,
  );
  assert.equal(pausedLine(run, command), `run #1 paused: checkpoint at 4.400 kimg; resume with ${command}`);
  assert.equal(
    pausedLine({ ...run, lastCheckpoint: null, resumeKimg: 0 }, 'X'),
    'run #1 paused: no checkpoint yet, so it starts again from 0.000 kimg; resume with X',
  );
  assert.equal(pausedLine({ ...run, state: 'crashed', error: 'out of memory' }, 'X'), 'run #1 crashed: out of memory');
});
