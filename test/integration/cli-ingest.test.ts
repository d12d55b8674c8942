import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { renderSquare } from '../../main/core/dataset/process.js';
import { CLI, tempDir } from '../helpers/paths.js';
import { PLATE_NAMES, plate } from '../helpers/plates.js';

const run = promisify(execFile);
const PLATES = PLATE_NAMES.slice(0, 8);

let tmp: ReturnType<typeof tempDir>;
let folder: string;
let home: string;

async function plumage(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, PLUMAGE_HOME: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(() => {
  tmp = tempDir('cli');
  folder = join(tmp.dir, 'plates');
  home = join(tmp.dir, 'home');
  mkdirSync(folder);
  for (const p of PLATES) copyFileSync(plate(p), join(folder, p));
  writeFileSync(join(folder, 'broken.jpg'), 'oops');
  copyFileSync(plate(PLATES[0]!), join(folder, 'zz-copy.jpg'));
});

after(() => tmp.cleanup());

test('ingest --json prints exactly one JSON object with the promised fields', async () => {
  const { code, stdout } = await plumage([
    'ingest',
    folder,
    '--resolution',
    '128',
    '--crop',
    'pad',
    '--home',
    home,
    '--json',
  ]);
  assert.equal(code, 0);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'one line on stdout');
  const report = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(report).sort(), [
    'accepted',
    'crop',
    'dataset',
    'duplicates',
    'rejected',
    'resolution',
    'seconds',
  ]);
  assert.equal(report.dataset, folder);
  assert.equal(report.resolution, 128);
  assert.equal(report.accepted.length, PLATES.length);
  for (const a of report.accepted) {
    assert.ok(PLATES.includes(a.file));
    assert.ok(a.width >= 640 && a.height >= 640, 'upright source dimensions');
  }
  assert.deepEqual(report.rejected, [{ file: 'broken.jpg', reason: 'not an image (the file holds text)' }]);
  assert.deepEqual(report.duplicates, [{ file: 'zz-copy.jpg', of: PLATES[0] }]);
  assert.equal(typeof report.seconds, 'number');
});

test('the packed cache holds exactly what the pipeline renders, at slot × R² × 3', async () => {
  const db = new Database(join(home, 'plumage.db'), { readonly: true });
  const ds = db.prepare('SELECT id, resolution FROM datasets WHERE folder = ?').get(folder) as {
    id: number;
    resolution: number;
  };
  const row = db.prepare('SELECT slot FROM sources WHERE dataset_id = ? AND path = ?').get(ds.id, PLATES[3]) as {
    slot: number;
  };
  db.close();
  const cache = readFileSync(join(home, 'cache', `dataset-${ds.id}-128.u8`));
  const slotBytes = 128 * 128 * 3;
  const direct = await renderSquare(readFileSync(join(folder, PLATES[3]!)), {
    resolution: 128,
    crop: 'pad',
    paper: '#f5f1e6',
  });
  assert.ok(direct.ok);
  assert.ok(cache.subarray(row.slot * slotBytes, (row.slot + 1) * slotBytes).equals(direct.pixels));
});

test('running again decodes only what changed', async () => {
  const db = () => new Database(join(home, 'plumage.db'), { readonly: true });
  const stamp = (): Record<string, number> => {
    const d = db();
    const r = Object.fromEntries(
      (d.prepare('SELECT path, updated_at FROM sources').all() as { path: string; updated_at: number }[]).map((x) => [
        x.path,
        x.updated_at,
      ]),
    );
    d.close();
    return r;
  };
  const before = stamp();
  copyFileSync(plate(PLATE_NAMES[10]!), join(folder, 'added.jpg'));
  const { code, stdout } = await plumage([
    'ingest',
    folder,
    '--resolution',
    '128',
    '--crop',
    'pad',
    '--home',
    home,
    '--json',
  ]);
  assert.equal(code, 0);
  assert.equal(JSON.parse(stdout).accepted.length, PLATES.length + 1);
  const after = stamp();
  for (const p of PLATES) assert.equal(after[p], before[p], `${p} not re-processed`);
});

test('a missing folder, a bad resolution and an unwritable home fail with clear messages', async () => {
  const missing = await plumage(['ingest', join(tmp.dir, 'nope'), '--resolution', '64', '--home', home]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /folder not found: .*nope/);

  const badRes = await plumage(['ingest', folder, '--resolution', '100', '--home', home]);
  assert.equal(badRes.code, 2);
  assert.match(badRes.stderr, /--resolution must be one of 64, 128, 256, 512, 1024/);

  const locked = join(tmp.dir, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o500);
  const unwritable = await plumage(['ingest', folder, '--resolution', '64', '--home', join(locked, 'home')]);
  chmodSync(locked, 0o700);
  if (process.getuid?.() === 0) {
    // root ignores permission bits; use a path under a regular file instead.
    writeFileSync(join(tmp.dir, 'a-file'), '');
    const underFile = await plumage([
      'ingest',
      folder,
      '--resolution',
      '64',
      '--home',
      join(tmp.dir, 'a-file', 'home'),
    ]);
    assert.notEqual(underFile.code, 0);
    assert.match(underFile.stderr, /cannot write to the Plumage home .*a-file\/home \(ENOTDIR\)/);
  } else {
    assert.notEqual(unwritable.code, 0);
    assert.match(unwritable.stderr, /cannot write to the Plumage home/);
  }
});
