import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { migrate, openDatabase } from '../../main/core/store/db.js';
import { MIGRATIONS } from '../../main/core/store/migrations/index.js';
import { RunStore } from '../../main/core/store/runs.js';
import { writeAdvice } from '../../main/core/train/failure.js';
import { WASM_LIMIT_MB, presetFit, presetNeed } from '../../main/core/train/capacity.js';
import { databaseAt, newRunRow } from '../helpers/runs.js';

const newRun = newRunRow(1);
const ckpt = (step: number) => ({ kimg: step / 1000, step, path: `/c/${step}`, sha256: 'x', bytes: 1 });

test('migration 3 on a version-2 database: a real foreign key from a fork to its checkpoint, one row per grid', () => {
  const db = databaseAt(2, { state: 'paused', kimg: 0.1, path: '/c' });
  db.exec(`
    INSERT INTO runs (id, dataset_id, parent_run_id, parent_checkpoint_id, name, preset, config, seed, sample_seeds,
      target_kimg, snapshot_kimg, checkpoint_kimg, state, created_at, updated_at)
      VALUES (2, 1, 1, 7, 'fork', 'tiny', '{}', 1, '[]', 1, 1, 1, 'created', 0, 0);
    INSERT INTO runs (id, dataset_id, parent_checkpoint_id, name, preset, config, seed, sample_seeds,
      target_kimg, snapshot_kimg, checkpoint_kimg, state, created_at, updated_at)
      VALUES (3, 1, 99, 'dangling', 'tiny', '{}', 1, '[]', 1, 1, 1, 'created', 0, 0);
    INSERT INTO snapshots (run_id, kimg, step, grid, at) VALUES (1, 0, 0, 'samples/run-1/grid-00000000.png', 0),
      (1, 0, 0, 'samples/run-1/grid-00000000.png', 1), (1, 0, 0, 'samples/run-1/grid-00000000.png', 2);
  `);
  migrate(db, MIGRATIONS);
  const fks = db.pragma('foreign_key_list(runs)') as { table: string; from: string; on_delete: string }[];
  assert.deepEqual(
    fks.find((f) => f.table === 'checkpoints'),
    { ...fks.find((f) => f.table === 'checkpoints'), from: 'parent_checkpoint_id', on_delete: 'RESTRICT' },
  );
  const store = new RunStore(db, '/plumage-home');
  assert.equal(store.getRun(2)!.parent_checkpoint_id, 7, 'the link survives the migration');
  assert.equal(store.getRun(3)!.parent_checkpoint_id, null, 'a link to a checkpoint long gone is dropped');
  assert.equal(store.getRun(2)!.checkpoint_minutes, 10);
  assert.equal(store.listSnapshots(1).length, 1, 'duplicate grid rows are merged');
  assert.equal(store.deleteCheckpoint(7), false, 'a checkpoint a fork points to cannot be deleted');
  assert.ok(store.getCheckpoint(7));
  assert.throws(() => store.deleteRun(1), /FOREIGN KEY constraint failed/, 'nor by deleting its run');
  store.updateRun(2, { parent_checkpoint_id: null });
  assert.equal(store.deleteCheckpoint(7), true, 'once nothing points to it, it goes');
  assert.equal(db.pragma('foreign_key_check', { simple: true }), undefined);
  db.close();
});

test('grids are recorded once per file; a resume truncates ticks and grids past its step; damaged checkpoints are skipped', () => {
  const db = openDatabase(':memory:');
  db.exec(
    "INSERT INTO datasets (id, folder, resolution, crop, paper, created_at, opened_at) VALUES (1, '/p', 64, 'centre', '#fff', 0, 0)",
  );
  const store = new RunStore(db, '/plumage-home');
  const run = store.createRun(newRun);
  store.insertSnapshot(run.id, 0, 0, 'samples/run-1/grid-00000000.png');
  store.insertSnapshot(run.id, 0, 0, 'samples/run-1/grid-00000000.png'); // a restart at step 0
  store.insertSnapshot(run.id, 0.04, 5, 'samples/run-1/grid-00000005.png');
  assert.equal(store.listSnapshots(run.id).length, 2);
  const tick = { kimg: 0, lossG: null, lossD: null, r1Penalty: null, plPenalty: null, scoreReal: null };
  const rest = { scoreFake: null, augmentP: null, imagesPerSec: null, secPerKimg: null, tensors: null };
  const more = { rssMB: null, datasetImages: null, tensorMB: null };
  for (const step of [1, 2, 3, 4, 5, 6]) store.insertTick(run.id, { ...tick, ...rest, ...more, step });
  assert.deepEqual(store.truncateAfter(run.id, 4), ['samples/run-1/grid-00000005.png']);
  assert.deepEqual(
    store.listTicks(run.id).map((t) => t.step),
    [1, 2, 3, 4],
  );
  for (const step of [10, 20, 30]) store.insertCheckpoint(run.id, ckpt(step));
  store.markCheckpointDamaged(store.latestCheckpoint(run.id)!.id, 'checksum mismatch');
  assert.equal(store.latestCheckpoint(run.id)!.step, 20);
  assert.deepEqual(
    store.goodCheckpoints(run.id).map((c) => c.step),
    [20, 10],
  );
  db.close();
});

test('write failures get advice for their cause', () => {
  const err = (code: string): Error => Object.assign(new Error(`failed: ${code}`), { code });
  assert.match(
    writeAdvice(err('ENOSPC')),
    /the disk is full \(ENOSPC\)\. Nothing was lost: free some space, then Resume/,
  );
  assert.match(writeAdvice(err('SQLITE_FULL')), /the disk is full \(SQLITE_FULL\)/);
  assert.match(writeAdvice(err('EROFS')), /read-only filesystem \(EROFS\).*choose another home/);
  assert.doesNotMatch(writeAdvice(err('EROFS')), /once there is room/);
  assert.match(writeAdvice(err('SQLITE_READONLY_DBMOVED')), /read-only/);
  assert.match(writeAdvice(err('EACCES')), /permission denied \(EACCES\).*writable for this user/);
  assert.match(writeAdvice(err('ENOTDIR')), /a file stands where a folder should be/);
  assert.match(writeAdvice(new Error('odd')), /odd \(error\)/);
});

test('preset memory needs against backend limits: tiny and 64² fit a wasm instance in rounds, the rest do not', () => {
  assert.deepEqual(presetFit('tiny', 'wasm').rounds, { perRound: 8, plPerRound: 4 }, 'tiny: the whole batch at once');
  const fit64 = presetFit('64', 'wasm');
  assert.equal(fit64.fits, true);
  assert.deepEqual(fit64.rounds, { perRound: 4, plPerRound: 2 }, '64²: rounds of one minibatch-stddev group');
  assert.ok(fit64.needMB < WASM_LIMIT_MB);
  for (const p of ['128', '256', '512', '1024'] as const) {
    const fit = presetFit(p, 'wasm');
    assert.equal(fit.fits, false, p);
    assert.equal(fit.rounds, null);
    assert.match(
      fit.reason!,
      /needs \d+\.\d GB to train even in the smallest rounds, and a wasm backend has at most 4 GB/,
    );
    assert.ok(presetNeed(p).mb > WASM_LIMIT_MB);
    assert.equal(presetFit(p, 'cuda').fits, true, 'a GPU cannot be sized from here: not refused');
  }
});

test('migration 5: a run keeps the backend it last started on and the hint, from a version-4 database too', () => {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS.slice(0, 4));
  db.exec(`
    INSERT INTO datasets (id, folder, resolution, crop, paper, created_at, opened_at) VALUES (1, '/p', 64, 'centre', '#fff', 0, 0);
    INSERT INTO runs (id, dataset_id, name, preset, config, seed, sample_seeds, target_kimg, snapshot_kimg,
      checkpoint_kimg, state, backend, created_at, updated_at)
      VALUES (1, 1, 'a', 'tiny', '{}', 1, '[]', 1, 1, 1, 'paused', 'CPU (WebAssembly)', 0, 0);
  `);
  migrate(db, MIGRATIONS);
  const store = new RunStore(db, '/plumage-home');
  const old = store.getRun(1)!;
  assert.equal(old.backend, 'CPU (WebAssembly)', 'the description it had stays');
  assert.equal(old.backend_kind, null);
  assert.equal(old.backend_hint, null);
  store.updateRun(1, { backend: 'WebGPU on llvmpipe', backend_kind: 'webgpu', backend_hint: 'install a driver' });
  const fresh = store.createRun(newRun);
  assert.equal(fresh.backend_kind, null, 'a new run has none until it starts');
  assert.deepEqual(
    (({ backend, backend_kind, backend_hint }) => ({ backend, backend_kind, backend_hint }))(store.getRun(1)!),
    { backend: 'WebGPU on llvmpipe', backend_kind: 'webgpu', backend_hint: 'install a driver' },
  );
  db.close();
});

test('migration 13: a fork keeps the kimg it branched at; one that already let go of its checkpoint has none', () => {
  const db = databaseAt(12, { state: 'done', kimg: 0.25, path: 'c' });
  db.exec(`
    INSERT INTO runs (id, dataset_id, parent_run_id, parent_checkpoint_id, name, preset, config, seed, sample_seeds,
      target_kimg, snapshot_kimg, checkpoint_kimg, state, created_at, updated_at)
      VALUES (2, 1, 1, 7, 'fresh fork', 'tiny', '{}', 1, '[]', 1, 1, 1, 'created', 0, 0),
             (3, 1, 1, NULL, 'old fork', 'tiny', '{}', 1, '[]', 1, 1, 1, 'done', 0, 0);
  `);
  migrate(db, MIGRATIONS);
  const kimgs = db.prepare('SELECT id, branch_kimg FROM runs ORDER BY id').all();
  assert.deepEqual(kimgs, [
    { id: 1, branch_kimg: null },
    { id: 2, branch_kimg: 0.25 },
    { id: 3, branch_kimg: null },
  ]);
  // A fork made now records it at creation, and keeps it when it lets go of the checkpoint.
  const store = new RunStore(db, '/home');
  const fork = store.createRun({ ...newRun, parent_run_id: 1, parent_checkpoint_id: 7 });
  assert.equal(fork.branch_kimg, 0.25);
  store.updateRun(fork.id, { parent_checkpoint_id: null });
  assert.equal(store.getRun(fork.id)!.branch_kimg, 0.25);
  assert.equal(store.createRun(newRun).branch_kimg, null, 'a run that is not a fork has none');
  assert.throws(() => db.exec('UPDATE runs SET branch_kimg = -1 WHERE id = 2'), /CHECK constraint failed/);
  db.close();
});
