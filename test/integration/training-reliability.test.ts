/**
 * Issue 8 §1 and issue 9's "fail fast": every way a run could lose work or loop, each provoked
 * for real (a killed or stopped trainer, a damaged checkpoint, a full database, a blocked
 * folder, a trainer that fails the same way twice) against the tiny preset.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { datasetCacheFile } from '../../main/core/home-layout.js';
import { readSafetensors } from '../../main/core/netfile/safetensors.js';
import { Studio } from '../../main/core/studio.js';
import { predictBackend } from '../../main/core/train/capacity.js';
import { RunSupervisor } from '../../main/core/train/supervisor.js';
import { forkChild } from '../../main/core/util/spawn-child.js';
import type { RunSummary } from '../../preload/contract.js';
import type { TrainEnd } from '../../main/core/train/protocol.js';
import { SAMPLE_PLATES, waitFor } from '../helpers/paths.js';
import { trainingStudio, type TrainingStudio } from '../helpers/runs.js';

let ctx: TrainingStudio;
let studio: Studio;
let home: string;
let datasetId: number;
const STEP_KIMG = 0.008; // the tiny preset's batch of 8
/** When set, trainers are started from this script instead (a stand-in that fails on purpose). */
let fakeTrainer: string | null = null;
let spawned = 0;

before(async () => {
  ctx = await trainingStudio('reliability', {
    backoffMs: 50,
    maxRestarts: 5,
    answerTimeoutMs: 1500,
    spawn: (script, opts) => {
      spawned++;
      return forkChild(fakeTrainer ?? script, opts);
    },
  });
  ({ studio, home, datasetId } = ctx);
});

after(() => ctx.close());

const runs = () => studio.training.runs;
const state = (runId: number): string => runs().getRun(runId)!.state;
const untilState = (runId: number, wanted: string[], ms = 120_000): Promise<string> =>
  waitFor(
    () => (wanted.includes(state(runId)) ? state(runId) : ''),
    ms,
    `run ${runId} to be ${wanted.join(' or ')} (is ${state(runId)}: ${runs().getRun(runId)!.error})`,
  );
const create = (extra: Partial<Parameters<Studio['createRun']>[0]> = {}): Promise<RunSummary> =>
  studio.createRun({ datasetId, preset: 'tiny', targetKimg: 100, snapshotKimg: 50, checkpointKimg: 50, ...extra });
const changes = (runId: number): RunSummary[] => {
  const seen: RunSummary[] = [];
  studio.on('runChanged', (r) => r.id === runId && seen.push(r));
  return seen;
};

test('a checkpoint at least every N minutes of wall time, as well as every checkpointKimg (validated)', async () => {
  await assert.rejects(
    studio.handle('createRun', {
      datasetId,
      preset: 'tiny',
      targetKimg: 1,
      snapshotKimg: 1,
      checkpointKimg: 1,
      checkpointMinutes: 0,
    }),
    /checkpointMinutes: must be at least 0\.05/,
  );
  // 50 kimg would take an hour here: only the wall-clock bound (3 s) can write these.
  const run = await studio.handle('createRun', {
    datasetId,
    preset: 'tiny',
    targetKimg: 100,
    snapshotKimg: 50,
    checkpointKimg: 50,
    checkpointMinutes: 0.05,
  });
  assert.equal(run.checkpointMinutes, 0.05);
  studio.training.startRun(run.id);
  await waitFor(() => runs().listCheckpoints(run.id).length >= 2, 90_000, 'two checkpoints by the clock');
  const paused = await studio.pauseRun({ runId: run.id });
  assert.ok(
    runs()
      .listCheckpoints(run.id)
      .every((c) => c.kimg < 1),
    'long before the first kimg interval',
  );
  assert.equal(runs().latestCheckpoint(run.id)!.kimg, paused.kimg, 'pause checkpoints where it stopped');
  assert.equal(studio.training.resumePoint(run.id), paused.kimg);
});

test('after a crash the resumed run records no step twice (ticks and grids), and resumes from its checkpoint', async () => {
  const run = await create({ checkpointKimg: 2 * STEP_KIMG, snapshotKimg: STEP_KIMG });
  studio.training.startRun(run.id);
  const sup = studio.training.supervisorOf(run.id)!;
  const startedAt: number[] = [];
  sup.on('started', () => startedAt.push(runs().getRun(run.id)!.kimg));
  // Ticks past the newest checkpoint: the ones a crash throws away.
  const ckpt = await waitFor(() => {
    const c = runs().latestCheckpoint(run.id);
    return c &&
      runs()
        .listTicks(run.id)
        .some((t) => t.step > c.step)
      ? c
      : null;
  }, 90_000);
  sup.killTrainer('SIGKILL');
  await waitFor(() => startedAt.length >= 2, 60_000, 'the restart');
  assert.ok(startedAt[1]! >= ckpt.kimg - 1e-9, 'resumed from the last checkpoint or a newer one');
  await waitFor(
    () => (runs().listTicks(run.id).at(-1)?.step ?? 0) > runs().latestCheckpoint(run.id)!.step + 1,
    60_000,
    'ticks after the restart',
  );
  await studio.pauseRun({ runId: run.id });
  const steps = runs()
    .listTicks(run.id)
    .map((t) => t.step);
  for (let i = 1; i < steps.length; i++)
    assert.ok(steps[i]! > steps[i - 1]!, `tick steps increase: ${steps.join(',')}`);
  const grids = runs().listSnapshots(run.id);
  assert.equal(new Set(grids.map((g) => g.grid)).size, grids.length, 'one row per grid file');
  const gridSteps = grids.map((g) => g.step);
  assert.deepEqual(
    [...gridSteps].sort((a, b) => a - b),
    gridSteps,
  );
});

test('a damaged newest checkpoint and a missing one: falls back to the newest intact, says so, marks the damaged one', async () => {
  const run = await create({ checkpointKimg: STEP_KIMG });
  studio.training.startRun(run.id);
  await waitFor(() => runs().listCheckpoints(run.id).length >= 3, 90_000, 'three checkpoints');
  await studio.pauseRun({ runId: run.id });
  const [oldest, middle, newest] = runs().listCheckpoints(run.id).slice(-3) as [
    ReturnType<ReturnType<typeof runs>['listCheckpoints']>[number],
    ReturnType<ReturnType<typeof runs>['listCheckpoints']>[number],
    ReturnType<ReturnType<typeof runs>['listCheckpoints']>[number],
  ];
  // Flip one byte in the newest, delete the middle one.
  const fd = openSync(newest.path, 'r+');
  const at = Math.floor(statSync(newest.path).size / 2);
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, at);
  writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, at);
  closeSync(fd);
  rmSync(middle.path);
  // Leftovers of a write killed half-way: removed at start.
  const staleCkpt = join(home, 'checkpoints', `run-${run.id}`, 'ckpt-00000099.safetensors.0a1b2c.tmp');
  const staleGrid = join(home, 'samples', `run-${run.id}`, 'grid-00000099.png.3d4e5f.tmp');
  writeFileSync(staleCkpt, Buffer.alloc(1 << 20));
  writeFileSync(staleGrid, 'half a png');

  const seen = changes(run.id);
  const marks: (string | null)[] = [];
  let resumedAt = -1;
  const sup = studio.training.supervisorOf(run.id)!;
  sup.once('started', () => {
    resumedAt = runs().getRun(run.id)!.kimg;
    marks.push(...[newest, middle, oldest].map((c) => runs().getCheckpoint(c.id)!.damaged));
  });
  studio.training.startRun(run.id);
  assert.ok(!existsSync(staleCkpt) && !existsSync(staleGrid), 'stale temp files are gone');
  await waitFor(() => resumedAt >= 0, 60_000, 'the trainer to start');
  assert.equal(resumedAt, oldest.kimg, 'resumed from the newest intact checkpoint');
  assert.match(marks[0] ?? '', /checksum mismatch/);
  // A missing file is not marked for good (it may come back); it shows as missing while it is.
  assert.equal(marks[1], null);
  assert.equal(marks[2], null);
  const shown = (await studio.getRun({ runId: run.id })).checkpoints.find((c) => c.id === middle.id);
  assert.equal(shown?.damaged, 'the file is missing');
  assert.equal(state(run.id), 'running');
  assert.ok(
    seen.some((r) => /checkpoint at [\d.]+ kimg is damaged .*resuming from the newest intact one/.test(r.error ?? '')),
    `the UI is told (${seen.map((r) => r.error).join(' | ')})`,
  );
  assert.equal(runs().getRun(run.id)!.restarts, 0, 'no crash loop');
  await studio.pauseRun({ runId: run.id });
});

test('a trainer that does not answer is killed: pause (and quitting) cannot hang', { timeout: 90_000 }, async () => {
  const run = await create();
  studio.training.startRun(run.id);
  await waitFor(() => runs().listTicks(run.id).length >= 1, 60_000, 'a tick');
  const sup = studio.training.supervisorOf(run.id)!;
  const pid = sup.pid!;
  process.kill(pid, 'SIGSTOP'); // alive, but answers nothing
  const t0 = performance.now();
  await studio.training.pauseAll('app'); // what Studio.close() does on the way out
  const waited = (performance.now() - t0) / 1000;
  assert.ok(waited < 30, `bounded (${waited.toFixed(1)} s)`);
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the trainer is gone');
  const after = runs().getRun(run.id)!;
  assert.equal(after.state, 'paused');
  assert.equal(after.paused_by, 'app', 'the quit that paused it is kept with the run');
  assert.match(
    after.error ?? '',
    /did not answer the pause request within [\d.]+ s: it was ended, and the run (resumes|starts)/,
  );
});

test('an unwritable grid folder pauses the run with the reason instead of a crash loop', async () => {
  const run = await create();
  mkdirSync(join(home, 'samples'), { recursive: true });
  const blocker = join(home, 'samples', `run-${run.id}`);
  writeFileSync(blocker, 'not a folder');
  studio.training.startRun(run.id);
  await untilState(run.id, ['paused', 'crashed']);
  const failed = runs().getRun(run.id)!;
  assert.equal(failed.state, 'paused');
  assert.equal(failed.restarts, 0);
  assert.match(
    failed.error ?? '',
    /could not write a sample grid to .*run-\d+: a file stands where a folder should be \(E\w+\)\. Nothing was lost/,
  );
  rmSync(blocker);
});

test('a full database (real SQLITE_FULL) pauses the run with the reason; the process stays up', async () => {
  const run = await create();
  studio.training.startRun(run.id);
  await waitFor(() => runs().listTicks(run.id).length >= 1, 60_000, 'a tick');
  const db = studio.db;
  // Cap the file where it is and fill every page's free room, so the next tick needs a page it cannot have.
  db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 1}`);
  const filler = db.prepare(
    'INSERT INTO ticks (run_id, kimg, step, at) SELECT run_id, kimg, step, at FROM ticks WHERE run_id = ? LIMIT 1',
  );
  assert.throws(() => {
    for (;;) filler.run(run.id);
  }, /database or disk is full/);
  try {
    await untilState(run.id, ['paused', 'crashed'], 90_000);
    const paused = runs().getRun(run.id)!;
    assert.equal(paused.state, 'paused');
    assert.match(
      paused.error ?? '',
      /could not record the run's progress in the database: the disk is full \(SQLITE_FULL\)/,
    );
    assert.ok(!studio.training.supervisorOf(run.id)!.running, 'the trainer was paused and has exited');
  } finally {
    db.pragma('max_page_count = 1073741823');
    db.exec(`DELETE FROM ticks WHERE run_id = ${run.id} AND loss_g IS NULL AND tensors IS NULL`);
  }
});

test('a deterministic failure is not retried five times; the first restart says why; Resume is not offered', async () => {
  // A stand-in trainer that speaks the trainer protocol over child-rpc, ends its run with `end`
  // (a crash's cause) and exits 1, as the real one does after an unexpected error.
  const script = (end: TrainEnd): string => {
    const file = join(ctx.dir, `fake-${Math.random().toString(36).slice(2)}.mjs`);
    const lib = (path: string): string => JSON.stringify(new URL(`../../main/core/util/${path}`, import.meta.url).href);
    writeFileSync(
      file,
      `import { serve } from ${lib('child-rpc.js')};\n` +
        `import { parentTransport } from ${lib('transport.js')};\n` +
        'const ok = () => null;\n' +
        'serve(parentTransport(), { pause: ok, stop: ok, snapshot: ok, slots: ok, train: () => {\n' +
        `  setTimeout(() => process.exit(1), 20); return ${JSON.stringify(end)};\n` +
        '} });\n',
    );
    return file;
  };
  fakeTrainer = script({ type: 'error', message: 'Error: config says no', step: 3, outOfMemory: false });
  try {
    const run = await create();
    const seen = changes(run.id);
    spawned = 0;
    studio.training.startRun(run.id);
    await untilState(run.id, ['crashed'], 30_000);
    assert.equal(spawned, 2, 'tried twice, not six times');
    const first = seen.find((r) => /restarting/.test(r.error ?? ''));
    assert.match(first?.error ?? '', /exited with code 1: Error: config says no; restarting .*restart 1 of/);
    const crashed = studio.training.listRuns().find((r) => r.id === run.id)!;
    assert.match(crashed.error ?? '', /failed the same way at step 3 twice, so it is not retried/);
    assert.ok(crashed.cannotResume, 'Resume is not offered');
    await assert.rejects(studio.startRun({ runId: run.id }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'unsupported');
      assert.match(e.message, /cannot resume: .*failed the same way/);
      return true;
    });

    fakeTrainer = script({
      type: 'error',
      message: 'RuntimeError: Aborted() — out of memory',
      step: 0,
      outOfMemory: true,
    });
    const oom = await create();
    spawned = 0;
    studio.training.startRun(oom.id);
    await untilState(oom.id, ['crashed'], 30_000);
    assert.equal(spawned, 1, 'out of memory is not retried');
    assert.match(runs().getRun(oom.id)!.error ?? '', /out of memory.*Not retried/);
  } finally {
    fakeTrainer = null;
  }
});

test('a preset that cannot fit this backend is refused before it starts, and the form is told', async (t) => {
  if (predictBackend() !== 'wasm') return t.skip(`trains on ${predictBackend()} here, not wasm`);
  // 64² now trains on wasm in rounds; 128² needs more than 4 GB even in the smallest ones.
  await studio.ingestOnce(SAMPLE_PLATES, 128, 'centre');
  const ds128 = studio.datasets.listDatasets().find((d) => d.resolution === 128)!;
  await assert.rejects(
    studio.handle('createRun', {
      datasetId: ds128.id,
      preset: '128',
      targetKimg: 1,
      snapshotKimg: 1,
      checkpointKimg: 1,
    }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'unsupported');
      assert.match(
        e.message,
        /128² preset needs \d+\.\d GB to train even in the smallest rounds, and a wasm backend has at most 4 GB/,
      );
      return true;
    },
  );
  const info = await studio.getAppInfo();
  assert.equal(info.training.backend, 'wasm');
  assert.equal(info.training.memoryLimitMB, 4096);
  assert.deepEqual(
    info.training.presets.filter((p) => p.fits).map((p) => p.preset),
    ['tiny', '64'],
  );
  assert.deepEqual(info.training.presets.find((p) => p.preset === '64')!.rounds, { perRound: 4, plPerRound: 2 });
  // A run made where it fitted (a GPU box, same home): not offered, and refused with the reason.
  const row = runs().createRun({
    dataset_id: ds128.id,
    parent_run_id: null,
    parent_checkpoint_id: null,
    init_from: null,
    name: 'from a GPU box',
    preset: '128',
    config: JSON.stringify((await import('../../main/core/gan/config.js')).presetConfig('128')),
    seed: 1,
    sample_seeds: '[1]',
    target_kimg: 1,
    snapshot_kimg: 1,
    checkpoint_kimg: 1,
    checkpoint_minutes: 10,
  });
  assert.match(studio.training.summary(row).cannotResume ?? '', /wasm backend has at most 4 GB/);
  await assert.rejects(studio.startRun({ runId: row.id }), /cannot start: the 128² preset needs \d+\.\d GB/);
  // `train --backend wasm` on it (the CLI's resume path) is refused with the same reason, and changes nothing.
  assert.throws(
    () => studio.training.setRunBackend(row.id, 'wasm'),
    /run \d+ cannot train on wasm: the 128² preset needs \d+\.\d GB/,
  );
  assert.equal((JSON.parse(runs().getRun(row.id)!.config) as { backend?: string }).backend, undefined);
  // Past that check (the packages misjudged), the trainer refuses as soon as its backend is up.
  const sup = new RunSupervisor(runs(), row.id, {
    home,
    dataset: () => ({ cacheFile: datasetCacheFile(home, ds128), cacheResolution: 128, slots: [0, 1] }),
  });
  const t0 = performance.now();
  sup.start();
  await untilState(row.id, ['crashed', 'paused'], 60_000);
  assert.ok(performance.now() - t0 < 60_000);
  assert.match(runs().getRun(row.id)!.error ?? '', /128² preset needs \d+\.\d GB .* wasm backend has at most 4 GB/);
  assert.equal(runs().getRun(row.id)!.restarts, 0, 'not retried');
  await studio.deleteRun({ runId: row.id });
});

test('a fork continues everything from its parent checkpoint; the parent checkpoint is protected while needed', async () => {
  const parent = await create({ checkpointKimg: STEP_KIMG, seed: 5 });
  studio.training.startRun(parent.id);
  await waitFor(() => runs().listCheckpoints(parent.id).length >= 2, 90_000, 'parent checkpoints');
  await studio.pauseRun({ runId: parent.id });
  const from = runs().listCheckpoints(parent.id)[0]!; // the oldest: retention would delete it next
  // A fork that asks for no more training than its parent had: its first state is written as is.
  const fork = await create({ fromCheckpointId: from.id, targetKimg: from.kimg, r1Gamma: 0.05, seed: 99 });
  const waiting = await create({ fromCheckpointId: from.id }); // a second fork, not started yet
  studio.training.startRun(fork.id);
  await untilState(fork.id, ['done', 'paused', 'crashed']);
  assert.equal(state(fork.id), 'done', runs().getRun(fork.id)!.error ?? '');
  const own = runs().latestCheckpoint(fork.id)!;
  assert.equal(own.step, from.step, 'the fork starts where its parent was');
  const a = await readSafetensors(from.path, { requireChecksum: true });
  const b = await readSafetensors(own.path, { requireChecksum: true });
  assert.deepEqual(b.names, a.names);
  for (const name of a.names) {
    // G, G_ema, D and both optimisers' moments: all carried over.
    assert.deepEqual(await b.read(name), await a.read(name), name);
  }
  for (const key of ['plumage.counters', 'plumage.rng', 'plumage.sampler'])
    assert.equal(b.metadata[key], a.metadata[key], `${key} carried over`);
  const config = JSON.parse(b.metadata['plumage.config']!) as { plumage: { r1Gamma: number } };
  assert.equal(config.plumage.r1Gamma, 0.05, "the fork's config applies from there");
  await Promise.all([a.close(), b.close()]);
  assert.equal(runs().getRun(fork.id)!.parent_checkpoint_id, null, 'with its own checkpoint it lets go');

  // The parent trains on: retention (keep 3) would delete `from`, but the waiting fork points to it.
  studio.training.startRun(parent.id);
  await waitFor(() => runs().listCheckpoints(parent.id).at(-1)!.step >= from.step + 4, 90_000, 'parent training on');
  await studio.pauseRun({ runId: parent.id });
  const kept = runs().listCheckpoints(parent.id);
  assert.ok(kept.length >= 4 && kept.some((c) => c.id === from.id), 'the referenced checkpoint is kept');
  assert.ok(existsSync(from.path), 'and its file');
  await assert.rejects(studio.deleteRun({ runId: parent.id }), new RegExp(`run #${waiting.id} continues from`));
  await studio.deleteRun({ runId: waiting.id });
  await studio.deleteRun({ runId: parent.id });
  assert.ok(!existsSync(join(home, 'samples', `run-${parent.id}`)), 'its grids are gone with it');
  assert.ok(!existsSync(join(home, 'checkpoints', `run-${parent.id}`)), 'and its checkpoints');
});
