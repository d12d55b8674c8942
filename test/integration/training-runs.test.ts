import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { safetensorsMetadata } from '../../main/core/netfile/safetensors.js';
import { Studio } from '../../main/core/studio.js';
import { waitFor } from '../helpers/paths.js';
import { trainingStudio, type TrainingStudio } from '../helpers/runs.js';

let ctx: TrainingStudio;
let studio: Studio;
let home: string;
let datasetId: number;
const STEP_KIMG = 0.008; // the tiny preset's batch of 8

before(async () => {
  ctx = await trainingStudio('runs');
  ({ studio, home, datasetId } = ctx);
});

after(() => ctx.close());

const state = (runId: number): string => studio.training.runs.getRun(runId)!.state;
const untilState = (runId: number, wanted: string[], ms = 120_000): Promise<string> =>
  waitFor(
    () => (wanted.includes(state(runId)) ? state(runId) : ''),
    ms,
    `run ${runId} to be ${wanted.join(' or ')} (is ${state(runId)})`,
  );

for (const replicas of [1, 2]) {
  test(`bit-exact resume across processes, ${replicas} replica(s): N steps straight equal N/2, checkpoint, new trainer process, N/2`, async () => {
    const common = { datasetId, preset: 'tiny' as const, snapshotKimg: 1, checkpointKimg: 1, seed: 77, replicas };
    const straight = await studio.createRun({ ...common, targetKimg: 8 * STEP_KIMG });
    studio.training.startRun(straight.id);
    await untilState(straight.id, ['done']);

    const split = await studio.createRun({ ...common, targetKimg: 4 * STEP_KIMG });
    studio.training.startRun(split.id);
    await untilState(split.id, ['done']); // the trainer wrote a checkpoint at step 4 and exited
    studio.training.extendRun(split.id, 8 * STEP_KIMG);
    studio.training.startRun(split.id); // a new process, resumed from that checkpoint
    await untilState(split.id, ['done']);

    const a = studio.training.runs.latestCheckpoint(straight.id)!;
    const b = studio.training.runs.latestCheckpoint(split.id)!;
    assert.equal(a.step, 8);
    assert.equal(b.step, 8);
    // Weights, Adam moments, counters, ADA state, every replica's RNG and data-sampling state: the files are identical.
    assert.equal(b.sha256, a.sha256);
    const rngs = (await safetensorsMetadata(b.path, { requireChecksum: true }))['plumage.rngs'];
    assert.equal((JSON.parse(rngs!) as unknown[]).length, replicas, 'one RNG state per replica');
  });
}

test('pause finishes the step, writes a checkpoint and frees the process; resume continues from it (2 replicas)', async () => {
  const run = await studio.createRun({
    datasetId,
    preset: 'tiny',
    targetKimg: 100,
    snapshotKimg: 0.05,
    checkpointKimg: 50,
    replicas: 2,
  });
  assert.equal(run.replicas, 2);
  const started: number[] = [];
  const replicasStarted: number[] = [];
  studio.training.startRun(run.id);
  const sup = studio.training.supervisorOf(run.id)!;
  sup.on('started', (m) => {
    started.push(studio.training.runs.getRun(run.id)!.kimg);
    replicasStarted.push(m.replicas);
  });
  await waitFor(() => studio.training.runs.listTicks(run.id).length >= 2, 60_000, 'ticks');
  const paused = await studio.pauseRun({ runId: run.id });
  assert.equal(paused.state, 'paused');
  assert.ok(!sup.running, 'the trainer process has exited');
  const ckpt = studio.training.runs.latestCheckpoint(run.id)!;
  assert.ok(ckpt && ckpt.kimg === paused.kimg && ckpt.kimg > 0, 'a checkpoint at the paused point');
  assert.ok(studio.training.runs.listSnapshots(run.id).length >= 1, 'grids were written');
  studio.training.startRun(run.id);
  await waitFor(() => started.length === 2, 60_000, 'resumed');
  assert.equal(started[1], ckpt.kimg, 'resumed exactly where it paused');
  // Both starts ran two worker-thread replicas (each answered ready), and the run says so.
  assert.deepEqual(replicasStarted, [2, 2]);
  assert.match(studio.training.runs.getRun(run.id)!.backend ?? '', /× 2 replicas/);
  await studio.stopRun({ runId: run.id });
  assert.equal(state(run.id), 'stopped');
});

test('kill -9 of the trainer 10 times: it resumes each time, loses at most one checkpoint interval, the database stays sound', async () => {
  const run = await studio.createRun({
    datasetId,
    preset: 'tiny',
    targetKimg: 100,
    snapshotKimg: 10,
    checkpointKimg: 2 * STEP_KIMG,
  });
  studio.training.startRun(run.id);
  const sup = studio.training.supervisorOf(run.id)!;
  const resumedAt: number[] = [];
  sup.on('started', () => resumedAt.push(studio.training.runs.getRun(run.id)!.kimg));
  for (let kill = 0; kill < 10; kill++) {
    const before = studio.training.runs.listCheckpoints(run.id).at(-1)?.step ?? -1;
    await waitFor(
      () => (studio.training.runs.listCheckpoints(run.id).at(-1)?.step ?? -1) > before && sup.pid,
      60_000,
      `progress before kill ${kill + 1}`,
    );
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
    const lastGood = studio.training.runs.latestCheckpoint(run.id)!;
    const pid = sup.pid;
    sup.killTrainer('SIGKILL');
    await waitFor(
      () => sup.pid !== undefined && sup.pid !== pid && resumedAt.length >= kill + 2,
      60_000,
      `restart ${kill + 1}`,
    );
    // It started again from the last good checkpoint, or a newer one written just before the kill.
    assert.ok(
      resumedAt.at(-1)! >= lastGood.kimg - 1e-9,
      `restart ${kill + 1} resumed at ${resumedAt.at(-1)} (last good ${lastGood.kimg})`,
    );
    assert.ok(studio.training.runs.getRun(run.id)!.error?.includes('SIGKILL'), 'the crash is recorded with its cause');
  }
  await studio.pauseRun({ runId: run.id });
  const db = new Database(join(home, 'plumage.db'), { readonly: true });
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
  const listed = studio.training.runs.listCheckpoints(run.id);
  assert.ok(listed.length > 0 && listed.length <= 3, 'retention keeps the last 3');
  for (const c of listed) await safetensorsMetadata(c.path, { requireChecksum: true }); // whole and intact
  const files = readdirSync(join(home, 'checkpoints', `run-${run.id}`)).filter((f) => f.endsWith('.safetensors'));
  assert.deepEqual(
    files.filter((f) => f.startsWith('ckpt-')).sort(),
    listed.map((c) => c.path.split('/').pop()).sort(),
    'every checkpoint file on disk is listed, and only those',
  );
  // The G_ema files written with the grids: those a kill left unannounced were cleaned at the next start.
  assert.deepEqual(
    files.filter((f) => !f.startsWith('ckpt-')).sort(),
    studio.training.runs
      .liveGenerators(run.id)
      .map((g) => g.generator!.split('/').pop())
      .sort(),
    'every G_ema file on disk is held by a grid, and only those',
  );
  assert.equal(state(run.id), 'paused');
});

test('an unwritable checkpoint folder pauses the run with a clear error and loses nothing; fixed, it resumes', async () => {
  const run = await studio.createRun({
    datasetId,
    preset: 'tiny',
    targetKimg: 100,
    snapshotKimg: 10,
    checkpointKimg: 2 * STEP_KIMG,
  });
  // A file where the run's checkpoint folder should be: no checkpoint can be written there.
  mkdirSync(join(home, 'checkpoints'), { recursive: true });
  const blocker = join(home, 'checkpoints', `run-${run.id}`);
  writeFileSync(blocker, 'not a folder');
  studio.training.startRun(run.id);
  await untilState(run.id, ['paused', 'crashed']);
  const failed = studio.training.runs.getRun(run.id)!;
  assert.equal(failed.state, 'paused');
  // The first file the run writes there is the G_ema of its first grid (or, with no grid, a checkpoint).
  assert.match(
    failed.error ?? '',
    /could not write (a checkpoint|the run's current generator) to .*run-\d+: a file stands where a folder should be \(E\w+\)\. Nothing was lost/,
  );
  assert.equal(studio.training.runs.listCheckpoints(run.id).length, 0, 'nothing half-written is listed');
  rmSync(blocker);
  studio.training.startRun(run.id);
  await waitFor(() => studio.training.runs.listCheckpoints(run.id).length > 0, 60_000, 'a checkpoint after the fix');
  await studio.stopRun({ runId: run.id });
  assert.equal(studio.training.runs.getRun(run.id)!.error, null);
});

test('forking a checkpoint starts a linked run from those weights; bad requests get clear errors', async () => {
  const parent = studio.training.listRuns().find((r) => r.lastCheckpoint)!;
  const fork = await studio.createRun({
    datasetId,
    preset: 'tiny',
    targetKimg: parent.lastCheckpoint!.kimg + 2 * STEP_KIMG,
    snapshotKimg: 1,
    checkpointKimg: 1,
    fromCheckpointId: parent.lastCheckpoint!.id,
    r1Gamma: 0.05,
  });
  assert.equal(fork.parentRunId, parent.id);
  assert.equal(fork.r1Gamma, 0.05);
  studio.training.startRun(fork.id);
  await untilState(fork.id, ['done']);
  assert.ok(existsSync(studio.training.runs.latestCheckpoint(fork.id)!.path));
  await assert.rejects(
    studio.createRun({ datasetId, preset: '128', targetKimg: 1, snapshotKimg: 1, checkpointKimg: 1 }),
    /trains at 128²; the dataset was prepared at 64²/,
  );
  await assert.rejects(
    studio.handle('createRun', { datasetId, preset: 'tiny', targetKimg: -1, snapshotKimg: 1, checkpointKimg: 1 }),
    /targetKimg/,
  );
  await assert.rejects(studio.startRun({ runId: 9999 }), /no run with id 9999/);
  const left = await studio.deleteRun({ runId: fork.id });
  assert.ok(!left.some((r) => r.id === fork.id));
  assert.ok(!existsSync(join(home, 'checkpoints', `run-${fork.id}`)), 'its files are gone');
});
