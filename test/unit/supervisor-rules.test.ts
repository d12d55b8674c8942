/**
 * The supervisor's rules (README, "Runs survive anything"), each against a scripted trainer in
 * memory (a child-rpc endpoint over a channel in memory) through the SpawnChild seam, with the
 * clock mocked: what an exit means, restarts and their backoff, when a restart is not tried,
 * bounded pause and stop, the database failing, and checkpoint retention.
 * training-reliability.test.ts proves the same seam with real processes.
 */
import { mock, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../main/core/store/db.js';
import { RunStore, type RunRow } from '../../main/core/store/runs.js';
import { RunSupervisor, type SupervisorOptions } from '../../main/core/train/supervisor.js';
import type { TickMetrics, TrainerMessage } from '../../main/core/train/protocol.js';
import { tempDir } from '../helpers/paths.js';
import { newRunRow } from '../helpers/runs.js';
import {
  scriptedSpawn,
  settle,
  settleUntil,
  type ScriptedTrainer,
  type TrainerScript,
} from '../helpers/scripted-trainer.js';

const BACKOFF_MS = 100;
const MAX_RESTARTS = 3;
const ANSWER_MS = 1000;

const started: TrainerMessage = {
  type: 'started',
  backend: 'cpu',
  description: 'cpu (scripted)',
  hint: null,
  replicas: 1,
  kimg: 0,
  step: 0,
  resumedFrom: null,
};

/**
 * A trainer that starts, then does `then` (crash, fail, finish); it answers pause and stop with a
 * clean exit unless `deaf`.
 */
const trainer =
  (then: (t: ScriptedTrainer) => void = () => {}, deaf = false): TrainerScript =>
  (t, r) => {
    if (r.name === 'train') {
      t.say(started);
      then(t);
    } else if (!deaf && (r.name === 'pause' || r.name === 'stop')) {
      t.say({ type: r.name === 'pause' ? 'paused' : 'stopped', kimg: 0, step: 0 });
      t.exit(0);
    }
  };
const crash =
  (code = 1, cause?: { message: string; step: number; outOfMemory?: boolean }) =>
  (t: ScriptedTrainer): void => {
    if (cause) t.say({ type: 'error', outOfMemory: false, ...cause });
    t.exit(code);
  };
const tick = (step: number, stepSeconds: number): TickMetrics => ({
  kimg: step * 0.008,
  step,
  lossG: 1,
  lossD: 1,
  r1Penalty: null,
  plPenalty: null,
  scoreReal: null,
  scoreFake: null,
  augmentP: null,
  imagesPerSec: null,
  secPerKimg: null,
  tensors: null,
  rssMB: null,
  datasetImages: 24,
  tensorMB: null,
  stepSeconds,
  wallSeconds: stepSeconds,
});
const checkpoint = (step: number, path: string): TrainerMessage => ({
  type: 'checkpoint',
  kimg: step * 0.008,
  step,
  path,
  sha256: 'x',
  bytes: 1,
  ms: 10,
});

interface Harness {
  home: string;
  store: RunStore;
  sup: RunSupervisor;
  trainers: ScriptedTrainer[];
  run: () => RunRow;
  /** Every state change the supervisor announced. */
  changes: RunRow[];
  /** Advances the mocked clock, letting messages and exits through before and after. */
  advance: (ms: number) => Promise<void>;
}

/** A supervisor over an in-memory store, its trainers following `scripts`, setTimeout mocked. */
function harness(t: TestContext, scripts: TrainerScript[], over: Partial<SupervisorOptions> = {}): Harness {
  mock.timers.enable({ apis: ['setTimeout'] });
  const tmp = tempDir('supervisor');
  const db = openDatabase(':memory:');
  t.after(() => {
    mock.timers.reset();
    db.close();
    tmp.cleanup();
  });
  db.exec(
    "INSERT INTO datasets (id, folder, resolution, crop, paper, created_at, opened_at) VALUES (1, '/p', 64, 'centre', '#fff', 0, 0)",
  );
  const store = new RunStore(db, tmp.dir);
  const runId = store.createRun(newRunRow(1)).id;
  const { spawn, trainers } = scriptedSpawn(...scripts);
  const sup = new RunSupervisor(store, runId, {
    home: tmp.dir,
    spawn,
    maxRestarts: MAX_RESTARTS,
    backoffMs: BACKOFF_MS,
    answerTimeoutMs: ANSWER_MS,
    dataset: () => ({ cacheFile: join(tmp.dir, 'cache'), cacheResolution: 64, slots: [0, 1] }),
    ...over,
  });
  const changes: RunRow[] = [];
  sup.on('changed', (r) => changes.push(r));
  return {
    home: tmp.dir,
    store,
    sup,
    trainers,
    changes,
    run: () => store.getRun(runId)!,
    advance: async (ms) => {
      await settle();
      mock.timers.tick(ms);
      await settle();
    },
  };
}

interface ExitRow {
  what: string;
  /** What each successive trainer does after it starts. */
  scripts: TrainerScript[];
  state: RunRow['state'];
  error: RegExp | null;
  spawned: number;
  cannotResume?: boolean;
}

const EXITS: ExitRow[] = [
  {
    what: 'it finishes the run',
    scripts: [trainer((t) => (t.say({ type: 'done', kimg: 1, step: 125 }), t.exit(0)))],
    state: 'done',
    error: null,
    spawned: 1,
  },
  {
    what: 'a write fails (checkpoint, grid): paused with the reason, not retried',
    scripts: [trainer((t) => (t.say({ type: 'failed', message: 'disk full', kind: 'write', kimg: 0 }), t.exit(0)))],
    state: 'paused',
    error: /^disk full$/,
    spawned: 1,
  },
  {
    what: 'no checkpoint is intact: crashed, and Resume is not offered',
    scripts: [trainer((t) => (t.say({ type: 'failed', message: 'all damaged', kind: 'fatal', kimg: 0 }), t.exit(0)))],
    state: 'crashed',
    error: /^all damaged$/,
    spawned: 1,
    cannotResume: true,
  },
  {
    what: 'the preset cannot fit the backend: crashed, startable where it fits',
    scripts: [
      trainer((t) => (t.say({ type: 'failed', message: 'needs 9 GB', kind: 'unsupported', kimg: 0 }), t.exit(0))),
    ],
    state: 'crashed',
    error: /^needs 9 GB$/,
    spawned: 1,
  },
  {
    what: 'out of memory: not retried',
    scripts: [trainer(crash(1, { message: 'RangeError: out of memory', step: 4, outOfMemory: true }))],
    state: 'crashed',
    error: /exited with code 1: RangeError: out of memory\. Not retried: it would run out of memory again\./,
    spawned: 1,
  },
  {
    what: 'the same error at the same step twice: crashed, Resume not offered',
    scripts: [trainer(crash(1, { message: 'Error: NaN in G', step: 7 }))],
    state: 'crashed',
    error: /Error: NaN in G\. It failed the same way at step 7 twice, so it is not retried: fork the run/,
    spawned: 2,
    cannotResume: true,
  },
  {
    what: 'the same error while starting, twice',
    scripts: [(t, r) => r.name === 'train' && crash(1, { message: 'Error: no backend', step: -1 })(t)],
    state: 'crashed',
    error: /failed the same way while starting twice/,
    spawned: 2,
    cannotResume: true,
  },
  {
    what: 'a crash without progress every time: gives up after maxRestarts restarts',
    scripts: [trainer(crash(1))],
    state: 'crashed',
    error: new RegExp(`the trainer exited with code 1; gave up after ${MAX_RESTARTS} restarts without progress`),
    spawned: MAX_RESTARTS + 1,
  },
  {
    what: 'different errors at different steps are retried like any crash',
    scripts: [
      trainer(crash(1, { message: 'Error: a', step: 1 })),
      trainer(crash(1, { message: 'Error: b', step: 2 })),
      trainer(crash(1, { message: 'Error: a', step: 1 })),
      trainer(crash(1, { message: 'Error: b', step: 2 })),
    ],
    state: 'crashed',
    error: /gave up after 3 restarts without progress/,
    spawned: MAX_RESTARTS + 1,
  },
];

for (const row of EXITS)
  test(`an exit: ${row.what}`, async (t) => {
    const h = harness(t, row.scripts);
    h.sup.start();
    // Long enough for every backoff there could be.
    for (let i = 0; i <= MAX_RESTARTS + 1; i++) await h.advance(BACKOFF_MS * 2 ** MAX_RESTARTS);
    const run = h.run();
    assert.equal(run.state, row.state);
    if (row.error) assert.match(run.error ?? '', row.error);
    else assert.equal(run.error, null);
    assert.equal(h.trainers.length, row.spawned, 'trainers started');
    assert.equal(run.cannot_resume !== null, !!row.cannotResume, `cannot_resume: ${run.cannot_resume}`);
    assert.equal(h.sup.running, false);
  });

test('restart k waits backoff·2^(k−1); the first restart names the cause; the count is shown', async (t) => {
  const h = harness(t, [trainer(crash(1, { message: 'Error: flaky driver', step: 3 })), trainer(crash(1))]);
  h.sup.start();
  await h.advance(0);
  assert.equal(h.run().state, 'running', 'a run waiting to restart is still running');
  assert.ok(h.sup.running);
  for (const [k, delay] of [
    [1, BACKOFF_MS],
    [2, BACKOFF_MS * 2],
    [3, BACKOFF_MS * 4],
  ] as const) {
    await h.advance(delay - 1);
    assert.equal(h.trainers.length, k, `restart ${k} not before ${delay} ms`);
    await h.advance(1);
    assert.equal(h.trainers.length, k + 1, `restart ${k} at ${delay} ms`);
  }
  assert.deepEqual(
    [...new Set(h.changes.map((r) => r.error).filter((e) => e?.includes('restarting')))],
    [
      'the trainer exited with code 1: Error: flaky driver; restarting from the last checkpoint in 0.1 s ' +
        '(restart 1 of at most 3)',
      'the trainer exited with code 1; restarting from the last checkpoint in 0.2 s (restart 2 of at most 3)',
      'the trainer exited with code 1; restarting from the last checkpoint in 0.4 s (restart 3 of at most 3)',
    ],
  );
  assert.equal(h.run().state, 'crashed');
});

test('a checkpoint is progress: the next crash counts from restart 1 again', async (t) => {
  const ckpt = (t: ScriptedTrainer): void => {
    t.say(checkpoint(10, '/nowhere/c10'));
    t.exit(1);
  };
  const h = harness(t, [trainer(crash(1)), trainer(crash(1)), trainer(ckpt), trainer(crash(1))]);
  h.sup.start();
  await h.advance(BACKOFF_MS);
  await h.advance(BACKOFF_MS * 2);
  assert.equal(h.trainers.length, 3);
  assert.match(h.run().error ?? '', /restart 1 of at most 3/, 'after the checkpoint');
  await h.advance(BACKOFF_MS);
  assert.equal(h.trainers.length, 4, 'the base delay again');
});

test('pause and stop: the trainer finishes and exits; the run says so with no error', async (t) => {
  for (const kind of ['pause', 'stop'] as const) {
    const h = harness(t, [trainer()]);
    h.sup.start();
    await h.advance(0);
    await (kind === 'pause' ? h.sup.pause() : h.sup.stop());
    assert.deepEqual(
      h.trainers[0]!.received.map((r) => r.name),
      ['train', kind],
    );
    assert.equal(h.run().state, kind === 'pause' ? 'paused' : 'stopped');
    assert.equal(h.run().error, null);
    assert.equal(h.run().restarts, 0);
    mock.timers.reset();
  }
});

test('a trainer that does not answer is killed after the answer time plus its slowest step and checkpoint', async (t) => {
  const slow = (tr: ScriptedTrainer): void => {
    tr.say({ type: 'tick', tick: tick(10, 0) });
    tr.say({ type: 'tick', tick: tick(12, 3) }); // 1.5 s a step
    tr.say({ ...checkpoint(12, '/nowhere/c12'), ms: 500 } as TrainerMessage);
  };
  for (const kind of ['pause', 'stop'] as const) {
    const h = harness(t, [trainer(slow, true)], { keepCheckpoints: 99 });
    h.sup.start();
    await h.advance(0);
    const ended = kind === 'pause' ? h.sup.pause() : h.sup.stop();
    const bound = ANSWER_MS + 1500 + 500;
    await h.advance(bound - 1);
    assert.deepEqual(h.trainers[0]!.signals, [], 'not yet');
    await h.advance(1);
    await ended;
    assert.deepEqual(h.trainers[0]!.signals, ['SIGKILL']);
    assert.equal(h.run().state, kind === 'pause' ? 'paused' : 'stopped');
    assert.match(
      h.run().error ?? '',
      new RegExp(
        `^the trainer did not answer the ${kind} request within 3\\.0 s: it was ended, and the run ` +
          'resumes from its last checkpoint \\(0\\.096 kimg\\)$',
      ),
    );
    assert.equal(h.trainers.length, 1, 'and not restarted');
    mock.timers.reset();
  }
});

test('a trainer that dies while pausing: the pause stands, with the cause', async (t) => {
  const h = harness(t, [(tr, r) => (r.name === 'train' ? tr.say(started) : r.name === 'pause' && tr.exit(134))]);
  h.sup.start();
  await h.advance(0);
  await h.sup.pause();
  assert.equal(h.run().state, 'paused');
  assert.equal(h.run().error, 'the trainer exited with code 134 while pausing');
  assert.equal(h.trainers.length, 1);
});

test('pause while waiting to restart: no trainer is started; a manual start begins a fresh count', async (t) => {
  const h = harness(t, [trainer(crash(1, { message: 'Error: x', step: 5 })), trainer()]);
  h.sup.start();
  await h.advance(0);
  assert.match(h.run().error ?? '', /restart 1/);
  await h.sup.pause();
  await h.advance(BACKOFF_MS * 10);
  assert.equal(h.trainers.length, 1, 'the pending restart was cancelled');
  assert.equal(h.run().state, 'paused');
  assert.equal(h.sup.running, false);
  h.sup.start();
  await h.advance(0);
  assert.equal(h.run().state, 'running');
  assert.equal(h.run().error, null);
  assert.equal(h.run().restarts, 0);
});

test('the database refusing a write pauses the run with the reason; nothing is thrown', async (t) => {
  const h = harness(t, [trainer((tr) => tr.say({ type: 'tick', tick: tick(1, 0.1) }))]);
  const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  h.store.recordTick = () => {
    throw full;
  };
  h.sup.start();
  await h.advance(0);
  assert.deepEqual(
    h.trainers[0]!.received.map((r) => r.name),
    ['train', 'pause'],
    'the supervisor asked the trainer to pause',
  );
  await h.sup.whenExited();
  await settle();
  assert.equal(h.run().state, 'paused');
  assert.match(h.run().error ?? '', /^could not record the run's progress in the database: .*SQLITE_FULL/);
});

test('retention keeps the newest intact checkpoints; a file it cannot delete does not take the process down', async (t) => {
  let h: Harness | undefined;
  const dir = (): string => join(h!.home, 'checkpoints');
  const five = (tr: ScriptedTrainer): void => {
    for (const step of [10, 20, 30, 40, 50]) tr.say(checkpoint(step, join(dir(), `c${step}`)));
  };
  h = harness(t, [trainer(five)]);
  mkdirSync(join(dir(), 'c10'), { recursive: true }); // a folder where the file was: rm() refuses it
  for (const step of [20, 30, 40, 50]) writeFileSync(join(dir(), `c${step}`), 'weights');
  h.sup.start();
  await h.advance(0);
  await settleUntil(() => !existsSync(join(dir(), 'c20')), 'the oldest deletable checkpoint to go');
  await settle();
  assert.deepEqual(
    h.store.listCheckpoints(h.run().id).map((c) => c.step),
    [30, 40, 50],
  );
  assert.deepEqual(
    [20, 30, 40, 50].map((s) => existsSync(join(dir(), `c${s}`))),
    [false, true, true, true],
  );
  assert.equal(h.run().state, 'running', 'the run trains on');
});

test('a resume forgets what came after its checkpoint; a grid it cannot delete does not take the process down', async (t) => {
  const resumed: TrainerMessage = { ...started, kimg: 0.08, step: 10 } as TrainerMessage;
  const h = harness(t, [(tr, r) => r.name === 'train' && tr.say(resumed)]);
  const id = h.run().id;
  mkdirSync(join(h.home, 'samples', `run-${id}`, 'grid-00000020.png'), { recursive: true }); // cannot be rm()'d
  writeFileSync(join(h.home, 'samples', `run-${id}`, 'grid-00000030.png'), 'png');
  for (const step of [0, 10, 20, 30])
    h.store.insertSnapshot(id, step * 0.008, step, `samples/run-${id}/grid-${String(step).padStart(8, '0')}.png`);
  h.sup.start();
  await h.advance(0);
  const grid30 = join(h.home, 'samples', `run-${id}`, 'grid-00000030.png');
  await settleUntil(() => !existsSync(grid30), 'the grid past the checkpoint to go');
  await settle();
  assert.deepEqual(
    h.store.listSnapshots(id).map((s) => s.step),
    [0, 10],
  );
  assert.equal(h.run().state, 'running');
});
