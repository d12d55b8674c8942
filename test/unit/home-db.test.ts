import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { DatabaseDamagedError, openDatabase } from '../../main/core/store/db.js';
import { DB_FILE, openHomeDatabase, runIdsOnDisk } from '../../main/core/home.js';
import { LOCK_FILE } from '../../main/core/home-lock.js';
import { RunStore, type NewRun } from '../../main/core/store/runs.js';
import { DatasetStore } from '../../main/core/store/datasets.js';
import { Studio } from '../../main/core/studio.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir } from '../helpers/paths.js';
import { newRunRow } from '../helpers/runs.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;
before(() => {
  tmp = tempDir('home-db');
});
after(() => tmp.cleanup());

const home = (): string => {
  const dir = join(tmp.dir, `home-${++n}`);
  mkdirSync(dir);
  return dir;
};
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const newRun = (datasetId: number): NewRun => newRunRow(datasetId);
/** A tick with no measurements. */
const emptyTick = {
  lossG: null,
  lossD: null,
  r1Penalty: null,
  plPenalty: null,
  scoreReal: null,
  scoreFake: null,
  augmentP: null,
  imagesPerSec: null,
  secPerKimg: null,
  tensors: null,
  rssMB: null,
  datasetImages: null,
  tensorMB: null,
};

/** A home whose database holds a few hundred datasets (several pages), checkpointed into the main file. */
function homeWithData(): string {
  const dir = home();
  const db = openDatabase(join(dir, DB_FILE));
  const store = new DatasetStore(db);
  for (let i = 0; i < 300; i++) store.ensureDataset(`/plates/${'x'.repeat(50)}${i}`, 64, 'centre', '#fff');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return dir;
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, bytes, 0, bytes.length, offset);
  closeSync(fd);
}

function assertRefused(fn: () => unknown, file: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DatabaseDamagedError, String(err));
    assert.match(err.message, new RegExp(escape(file)), 'names the file');
    assert.match(err.message, /move it aside/);
    assert.match(err.message, /backup/);
    return true;
  });
}

test('garbage in the middle of the database: refused at open, naming the file; the file is left as it was', () => {
  const dir = homeWithData();
  const file = join(dir, DB_FILE);
  const size = statSync(file).size;
  overwrite(file, Math.floor(size / 4096 / 2) * 4096, Buffer.alloc(4096, 0x5a));
  const damaged = readFileSync(file);
  assertRefused(() => openHomeDatabase(dir), file);
  assert.deepEqual(readFileSync(file), damaged, 'nothing written to a damaged database');
});

test('garbage over the header (not a database at all) is refused the same way', () => {
  const dir = homeWithData();
  const file = join(dir, DB_FILE);
  overwrite(file, 0, Buffer.from('this is not an SQLite file, it is a shopping list\n'));
  assertRefused(() => openHomeDatabase(dir), file);
});

test('a zero-byte database beside run folders is damage, not a fresh home; alone it is a fresh home', () => {
  const dir = home();
  const file = join(dir, DB_FILE);
  writeFileSync(file, '');
  mkdirSync(join(dir, 'checkpoints', 'run-1'), { recursive: true });
  assertRefused(() => openHomeDatabase(dir), file);
  assert.equal(statSync(file).size, 0, 'left as it was');

  const fresh = home();
  writeFileSync(join(fresh, DB_FILE), '');
  const db = openHomeDatabase(fresh);
  assert.equal(db.pragma('quick_check', { simple: true }), 'ok');
  db.close();
});

test('Studio.open refuses a damaged home and frees its lock', () => {
  const dir = homeWithData();
  overwrite(join(dir, DB_FILE), 0, Buffer.alloc(100, 0x20));
  assert.throws(
    () => Studio.open({ home: dir, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false }),
    DatabaseDamagedError,
  );
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

test('ids of runs and datasets whose files are still on disk are never handed out again', async () => {
  const dir = home();
  // What a lost database leaves behind: the files of run 1 and run 3, and dataset 2's cache.
  mkdirSync(join(dir, 'checkpoints', 'run-1'), { recursive: true });
  writeFileSync(join(dir, 'checkpoints', 'run-1', 'ckpt-000001.safetensors'), 'weights of the old run 1');
  mkdirSync(join(dir, 'samples', 'run-3'), { recursive: true });
  mkdirSync(join(dir, 'cache'), { recursive: true });
  writeFileSync(join(dir, 'cache', 'dataset-2-64.u8'), 'old squares');
  assert.deepEqual(runIdsOnDisk(dir), [1, 3]);

  const studio = Studio.open({ home: dir, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });
  try {
    await studio.ingestOnce(SAMPLE_PLATES, 64, 'centre');
    const ds = (await studio.listDatasets())[0]!;
    assert.equal(ds.id, 3, 'the new dataset starts above dataset 2 on disk');
    const run = await studio.createRun({
      datasetId: ds.id,
      preset: 'tiny',
      targetKimg: 1,
      snapshotKimg: 1,
      checkpointKimg: 1,
    });
    assert.equal(run.id, 4, 'the new run starts above run-3 on disk');
    await studio.deleteRun({ runId: run.id });
    assert.ok(existsSync(join(dir, 'checkpoints', 'run-1', 'ckpt-000001.safetensors')), "the old run's files stay");
  } finally {
    await studio.close();
  }
  rmSync(join(dir, 'samples', 'run-3'), { recursive: true });
  // With the files gone, ids continue above the table as before.
  const db = openHomeDatabase(dir);
  assert.equal(new RunStore(db, dir, () => (runIdsOnDisk(dir).at(-1) ?? 0) + 1).createRun(newRun(3)).id, 2);
  db.close();
});

test('a write that fails half-way leaves nothing behind (ticks, checkpoints: row and run kimg together)', () => {
  const db = openDatabase(':memory:');
  const ds = new DatasetStore(db).ensureDataset('/plates', 64, 'centre', '#fff');
  const runs = new RunStore(db, '/plumage-home');
  const run = runs.createRun(newRun(ds.id));
  // The second statement of each write (the run's kimg) fails, as a full disk would make it.
  db.exec("CREATE TRIGGER kimg_fails BEFORE UPDATE OF kimg ON runs BEGIN SELECT RAISE(ABORT, 'disk full'); END");
  const tick = {
    kimg: 0.5,
    step: 10,
    lossG: 1,
    lossD: 1,
    r1Penalty: null,
    plPenalty: null,
    scoreReal: null,
    scoreFake: null,
    augmentP: 0,
    imagesPerSec: 1,
    secPerKimg: 1,
    tensors: 1,
    rssMB: 1,
    datasetImages: 1,
    tensorMB: 1,
  };
  assert.throws(() => runs.recordTick(run.id, tick), /disk full/);
  assert.deepEqual(runs.listTicks(run.id), [], 'no tick without its kimg');
  assert.throws(
    () => runs.recordCheckpoint(run.id, { kimg: 0.5, step: 10, path: '/x.safetensors', sha256: 'ab', bytes: 1 }),
    /disk full/,
  );
  assert.deepEqual(runs.listCheckpoints(run.id), [], 'no checkpoint listed without its kimg');
  db.exec('DROP TRIGGER kimg_fails');
  runs.recordCheckpoint(run.id, { kimg: 0.5, step: 10, path: '/x.safetensors', sha256: 'ab', bytes: 1 });
  assert.equal(runs.getRun(run.id)!.kimg, 0.5);
  assert.equal(runs.listCheckpoints(run.id).length, 1);
  db.close();
});

test('recovering interrupted runs pauses them at the kimg of their last checkpoint', () => {
  const db = openDatabase(':memory:');
  const ds = new DatasetStore(db).ensureDataset('/plates', 64, 'centre', '#fff');
  const runs = new RunStore(db, '/plumage-home');
  const a = runs.createRun(newRun(ds.id));
  const b = runs.createRun(newRun(ds.id));
  runs.recordCheckpoint(a.id, { kimg: 0.3, step: 6, path: '/a.safetensors', sha256: 'ab', bytes: 1 });
  runs.updateRun(a.id, { state: 'running', kimg: 0.5 });
  const lastTick = runs.insertTick(a.id, { ...emptyTick, kimg: 0.5, step: 10 });
  runs.updateRun(b.id, { state: 'running', kimg: 0.2 });
  const bChanged = runs.getRun(b.id)!.updated_at;
  assert.equal(runs.markInterrupted(), 2);
  assert.deepEqual(
    [runs.getRun(a.id)!, runs.getRun(b.id)!].map((r) => [r.state, r.kimg, r.paused_by, r.paused_at]),
    [
      // Paused by the crash, when it was last heard of: its last tick, or else its last change.
      ['paused', 0.3, 'crash', lastTick.at],
      ['paused', 0, 'crash', bChanged],
    ],
  );
  db.close();
});

test('a run remembers what paused it until it is updated otherwise; a cause outside the list is refused', () => {
  const db = openDatabase(':memory:');
  const ds = new DatasetStore(db).ensureDataset('/plates', 64, 'centre', '#fff');
  const runs = new RunStore(db, '/plumage-home');
  const run = runs.createRun(newRun(ds.id));
  assert.deepEqual([run.paused_by, run.paused_at], [null, null]);
  runs.updateRun(run.id, { state: 'paused', paused_by: 'server', paused_at: 1234 });
  assert.deepEqual([runs.getRun(run.id)!.paused_by, runs.getRun(run.id)!.paused_at], ['server', 1234]);
  assert.throws(
    () => db.prepare("UPDATE runs SET paused_by = 'gremlins' WHERE id = ?").run(run.id),
    /CHECK constraint failed/,
  );
  db.close();
});
