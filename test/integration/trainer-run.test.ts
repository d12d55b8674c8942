/**
 * The trainer process's run without the process (trainer-run.ts, resume.ts, run-writers.ts): a
 * fresh run of the tiny preset that writes its grid, its G_ema and its checkpoint and says so; a
 * resume that skips a damaged checkpoint and continues from the intact one; no intact checkpoint
 * (damaged, or only missing: it may come back); a folder it cannot write to; a crash's ending.
 * training-processes.test.ts runs the same through the real child and its supervisor.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { presetConfig } from '../../main/core/gan/config.js';
import type { TrainEnd, TrainerMessage, TrainerStart } from '../../main/core/train/protocol.js';
import { TrainerControl, crashEnd, trainRun } from '../../main/core/train/trainer-run.js';
import { backendReady } from '../helpers/gan.js';
import { tempDir } from '../helpers/paths.js';

const config = presetConfig('tiny');
const CACHE_RES = 64;
const STEP_KIMG = config.batchSize / 1000;
let tmp: ReturnType<typeof tempDir>;
let cacheFile: string;

before(async () => {
  await backendReady;
  tmp = tempDir('trainer-run');
  cacheFile = join(tmp.dir, 'cache.bin');
  writeFileSync(cacheFile, randomBytes(4 * CACHE_RES * CACHE_RES * 3));
});
after(() => tmp.cleanup());

async function start(name: string, over: Partial<TrainerStart> = {}): Promise<TrainerStart> {
  const info = await backendReady;
  return {
    runId: 1,
    config,
    seed: 3,
    sampleSeeds: [1, 2, 3, 4],
    cacheFile,
    cacheResolution: CACHE_RES,
    slots: [0, 1, 2, 3],
    targetKimg: 2 * STEP_KIMG,
    snapshotKimg: 100,
    checkpointKimg: 100,
    checkpointSeconds: 3600,
    checkpointDir: join(tmp.dir, name, 'checkpoints'),
    snapshotDir: join(tmp.dir, name, 'samples'),
    snapshotKeyPrefix: `samples/${name}`,
    resumeFrom: [],
    initFrom: null,
    backend: info.kind,
    tickSeconds: 0,
    ...over,
  };
}

/** Runs it, with everything it said as the supervisor hears it; `onStarted` steers it once it has begun. */
async function run(
  s: TrainerStart,
  onStarted: (c: TrainerControl) => void = () => {},
): Promise<{ said: TrainerMessage[]; end: TrainEnd | null }> {
  const control = new TrainerControl();
  const said: TrainerMessage[] = [];
  const end = await trainRun(s, control, (name, payload) => {
    said.push({ type: name, ...payload } as TrainerMessage);
    if (name === 'started') onStarted(control);
  });
  return { said, end };
}

const types = (said: TrainerMessage[]): string[] => said.filter((m) => m.type !== 'tick').map((m) => m.type);

test('a fresh run writes its grids, G_ema and checkpoint, says each, and ends done; a resume skips a damaged checkpoint', async () => {
  const fresh = await start('fresh');
  const first = await run(fresh);
  assert.deepEqual(types(first.said), ['started', 'snapshot', 'snapshot', 'checkpoint']);
  assert.deepEqual(first.end, { type: 'done', kimg: 2 * STEP_KIMG, step: 2 });
  const ckpt = first.said.find((m) => m.type === 'checkpoint')!;
  assert.ok(
    ckpt.type === 'checkpoint' && existsSync(ckpt.path) && ckpt.bytes > 0 && /^[0-9a-f]{64}$/.test(ckpt.sha256),
  );
  assert.deepEqual(readdirSync(fresh.snapshotDir).sort(), ['grid-00000000.png', 'grid-00000002.png']);
  for (const m of first.said)
    if (m.type === 'snapshot') {
      assert.ok(existsSync(m.generator), 'G_ema alone beside the checkpoints');
      assert.match(m.grid, /^samples\/fresh\/grid-0000000[02]\.png$/);
    }

  // Newest first: a damaged file, then the intact one. Paused as soon as it has started.
  const damaged = join(fresh.checkpointDir, 'damaged.safetensors');
  writeFileSync(damaged, 'not a checkpoint');
  const resumeFrom = [
    { id: 9, path: damaged, kimg: 3 * STEP_KIMG, fork: false },
    { id: 8, path: ckpt.path, kimg: ckpt.kimg, fork: false },
  ];
  const again = await run({ ...fresh, resumeFrom, targetKimg: 100 }, (c) => c.pause());
  assert.deepEqual(types(again.said), ['checkpointDamaged', 'started']);
  const bad = again.said[0]!;
  const started = again.said[1]!;
  assert.ok(bad.type === 'checkpointDamaged' && bad.id === 9 && !bad.missing && bad.reason.length > 0);
  assert.ok(started.type === 'started' && started.resumedFrom === 8 && started.step === 2);
  // Its checkpoint at step 2 is on disk already: none written again.
  assert.deepEqual(again.end, { type: 'paused', kimg: 2 * STEP_KIMG, step: 2 });
});

test('no intact checkpoint: fatal when they are damaged, missing (resumable) when some are not there', async () => {
  const s = await start('none');
  mkdirSync(s.checkpointDir, { recursive: true });
  const damaged = join(s.checkpointDir, 'damaged.safetensors');
  writeFileSync(damaged, 'not a checkpoint');
  const broken = await run({ ...s, resumeFrom: [{ id: 1, path: damaged, kimg: 1, fork: false }] });
  assert.equal(broken.end?.type, 'failed');
  assert.ok(broken.end?.type === 'failed' && broken.end.kind === 'fatal');
  assert.match(broken.end.message, /^no intact checkpoint to resume from \(1\.000 kimg: /);

  const gone = join(s.checkpointDir, 'gone.safetensors');
  const missing = await run({ ...s, resumeFrom: [{ id: 2, path: gone, kimg: 2, fork: false }] });
  assert.deepEqual(missing.said, [
    { type: 'checkpointDamaged', id: 2, path: gone, reason: 'the file is missing', missing: true },
  ]);
  assert.ok(missing.end?.type === 'failed' && missing.end.kind === 'missing');
  assert.match(missing.end.message, new RegExp(`put the missing files back in ${s.checkpointDir} and resume$`));
});

test('a folder it cannot write to: the failure said once, the progress kept with a checkpoint, and the ending', async () => {
  const s = await start('blocked');
  mkdirSync(join(tmp.dir, 'blocked'), { recursive: true });
  writeFileSync(s.snapshotDir, 'a file where the samples folder should be');
  const { said, end } = await run(s);
  assert.deepEqual(types(said), ['started', 'failed', 'checkpoint']);
  const failed = said.find((m) => m.type === 'failed')!;
  assert.ok(failed.type === 'failed' && failed.kind === 'write');
  assert.match(failed.message, /^could not write a sample grid to .*samples: a file stands where a folder should be/);
  assert.deepEqual(end, failed, 'the ending is the failure');
});

test('a crash ends with its first line and step; out of memory is named, with what to do', () => {
  assert.deepEqual(crashEnd(new Error('NaN in G\nstack'), 7), {
    type: 'error',
    message: 'NaN in G',
    step: 7,
    outOfMemory: false,
  });
  const oom = crashEnd(new Error('RuntimeError: Aborted(). Build with -sASSERTIONS'), -1);
  assert.ok(oom.type === 'error' && oom.outOfMemory && oom.step === -1);
  assert.match(
    oom.message,
    /out of memory: use a smaller preset or batch, or the GPU build \(a wasm backend has at most 4 GB\)$/,
  );
});

test('control: pause and stop end the run at a step boundary; the parent gone ends it without a word', () => {
  const c = new TrainerControl();
  assert.ok(!c.signal.aborted && !c.stopping && !c.gone);
  c.askSnapshot();
  assert.ok(c.takeSnapshotAsked() && !c.takeSnapshotAsked(), 'a snapshot is taken once');
  c.stop();
  assert.ok(c.signal.aborted && c.stopping && !c.gone);
  const d = new TrainerControl();
  d.parentGone();
  assert.ok(d.signal.aborted && d.gone && !d.stopping);
});
