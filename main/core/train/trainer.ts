/**
 * The trainer child process (`child_process.fork` headless, `utilityProcess.fork` under
 * Electron). It owns the tfjs backend and the GPU; the supervisor owns the database. One run:
 *   initialise (fresh, fine-tune or resume) → loop { step; once per tick: metrics;
 *   at snapshot intervals: grid; at checkpoint intervals: checkpoint } → done, or pause/stop on
 *   request (finish the step in flight, write a checkpoint, exit, freeing the GPU).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initBackend } from '../runtime/backend.js';
import type { BackendName } from '../runtime/backend-info.js';
import { openEngine, type TrainingEngine } from '../parallel/engine.js';
import { effectiveReplicas } from '../parallel/replicas.js';
import { RandomState } from '../gan/rng.js';
import { safetensorsMetadata } from '../netfile/safetensors.js';
import { WASM_LIMIT_MB, presetFit } from './capacity.js';
import { firstLine, writeAdvice } from './failure.js';
import { checkFineTuneFile } from './fine-tune.js';
import { checkpointName, gridName, liveGeneratorName } from '../home-layout.js';
import { writeFileAtomic } from '../util/atomic.js';
import { tolerateClosedStderr } from '../util/child-stderr.js';
import { renderGrid } from './grid.js';
import { FILE_MISSING, type SupervisorMessage, type TrainerMessage, type TrainerStart } from './protocol.js';
import { DatasetSampler } from './sampler.js';
import { trainLoop } from './train-loop.js';

/** Messages reach this process through whichever channel its parent gave it. */
interface Channel {
  send(m: TrainerMessage): void;
  onMessage(handler: (m: SupervisorMessage) => void): void;
  onDisconnect(handler: () => void): void;
}

function nodeChannel(): Channel {
  return {
    // After the parent is gone a send would throw: there is nobody left to tell.
    send: (m) => void (process.connected && process.send?.(m)),
    onMessage: (h) => process.on('message', (m) => h(m as SupervisorMessage)),
    onDisconnect: (h) => process.on('disconnect', h),
  };
}

/** Electron's utilityProcess gives the child `process.parentPort` instead of process.send. */
function electronChannel(port: {
  postMessage(m: unknown): void;
  on(e: 'message', h: (e: { data: unknown }) => void): void;
}): Channel {
  return {
    send: (m) => port.postMessage(m),
    onMessage: (h) => port.on('message', (e) => h(e.data as SupervisorMessage)),
    onDisconnect: () => {}, // the utility process is ended with its parent
  };
}

const SAMPLER_KEY = 'plumage.sampler';

/** The step in training now (-1 before the first): a crash report says where it happened. */
let stepNow = -1;

/** Loads the first intact candidate, reporting each damaged one; null when there were none. */
async function resume(
  channel: Channel,
  start: TrainerStart,
  replicas: number,
  backend: BackendName,
): Promise<{ trainer: TrainingEngine; from: TrainerStart['resumeFrom'][number]; sampler: RandomState | null } | null> {
  const damaged: string[] = [];
  const missing: string[] = [];
  for (const c of start.resumeFrom) {
    try {
      // The header alone (loadCheckpoint verifies the checksum as it loads).
      const meta = (await safetensorsMetadata(c.path, { requireChecksum: false }))[SAMPLER_KEY];
      const init = { kind: 'checkpoint', path: c.path, config: start.config, fork: c.fork, seed: start.seed } as const;
      const trainer = await openEngine(init, replicas, backend);
      return { trainer, from: c, sampler: meta ? RandomState.restore(JSON.parse(meta)) : null };
    } catch (err) {
      // A fork whose config does not fit its parent is a bad request, not a damaged file.
      if (err instanceof RangeError) throw err;
      const gone = !existsSync(c.path);
      const reason = gone ? FILE_MISSING : firstLine(err);
      damaged.push(`${c.kimg.toFixed(3)} kimg: ${reason}`);
      if (gone) missing.push(c.path);
      channel.send({ type: 'checkpointDamaged', id: c.id, path: c.path, reason, missing: gone });
    }
  }
  if (start.resumeFrom.length === 0) return null;
  // A file that is not there may come back (a home copied in part, a folder moved aside): not a verdict.
  if (missing.length > 0) {
    const folders = [...new Set(missing.map((p) => dirname(p)))].join(', ');
    throw new FatalError(
      `no intact checkpoint to resume from (${damaged.join('; ')}): put the missing files back in ${folders} and resume`,
      'missing',
    );
  }
  throw new FatalError(`no intact checkpoint to resume from (${damaged.join('; ')})`);
}

/** A failure retrying cannot fix: the run is marked crashed at once, with this message. */
class FatalError extends Error {
  constructor(
    message: string,
    readonly kind: 'fatal' | 'unsupported' | 'missing' | 'input' = 'fatal',
  ) {
    super(message);
  }
}

async function run(channel: Channel, start: TrainerStart): Promise<void> {
  // Pause, stop and the app's death each end the loop at a step boundary; which one decides the ending.
  const commands = { stop: false, snapshot: false, gone: false };
  const stopping = new AbortController();
  let batches: DatasetSampler | undefined;
  const gone = (): void => {
    commands.gone = true;
    stopping.abort();
  };
  channel.onMessage((m) => {
    if (m.type === 'pause') stopping.abort();
    else if (m.type === 'stop') {
      commands.stop = true;
      stopping.abort();
    } else if (m.type === 'snapshot') commands.snapshot = true;
    else if (m.type === 'slots') batches?.setSlots(m.slots);
  });
  channel.onDisconnect(gone); // the app died: stop at once, the last checkpoint stands
  // In a process group of its own (or under Electron, with no disconnect event) no signal follows
  // the parent's death: a changed parent pid says it, too.
  const parentPid = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentPid) gone();
  }, 2000).unref();

  // ── initialise ──
  const info = await initBackend(start.backend ?? start.config.backend);
  // Before a single tensor is made: a preset this backend cannot hold fails now, with the reason.
  const fit = presetFit(start.config.preset, info.kind);
  if (!fit.fits) throw new FatalError(fit.reason!, 'unsupported');
  // Replicas (worker threads, each its own wasm instance) where the backend is single-threaded.
  const { replicas, note } = effectiveReplicas(start.config.replicas ?? 1, info.kind);
  let trainer: TrainingEngine;
  let samplerRng = new RandomState((start.seed + 0x5eed) >>> 0);
  const resumed = await resume(channel, start, replicas, info.kind);
  if (resumed) {
    trainer = resumed.trainer;
    if (resumed.sampler) samplerRng = resumed.sampler;
  } else if (start.initFrom) {
    // Checked when the run was created; checked again here, since the file may have changed since.
    await checkFineTuneFile(start.initFrom, start.config).catch((err: Error) => {
      throw new FatalError(`${err.message}. Put the generator file back, then Resume`, 'input');
    });
    const init = { kind: 'generator', path: start.initFrom, config: start.config, seed: start.seed } as const;
    trainer = await openEngine(init, replicas, info.kind);
  } else {
    trainer = await openEngine({ kind: 'fresh', config: start.config, seed: start.seed }, replicas, info.kind);
  }
  const config = trainer.config;
  batches = new DatasetSampler(start.cacheFile, start.cacheResolution, config.resolution, start.slots, samplerRng);
  const kimgNow = (): number => trainer.imagesSeen / 1000;
  const shape = trainer.replicas > 1 ? ` × ${trainer.replicas} replicas` : note ? ` (${note})` : '';
  channel.send({
    type: 'started',
    backend: info.kind,
    description: info.description + shape,
    hint: info.hint,
    replicas: trainer.replicas,
    kimg: kimgNow(),
    step: trainer.step,
    resumedFrom: resumed?.from.id ?? null,
  });

  // A fork has no checkpoint of its own yet: its first one is written even at the parent's step.
  let lastCheckpointStep = resumed && !resumed.from.fork ? trainer.step : -1;

  /** A write failed: the run pauses with the cause and what to do (first failure wins). */
  let failedWrite = false;
  const writeFailed = (what: string, dir: string, err: unknown): void => {
    if (failedWrite) return;
    failedWrite = true;
    channel.send({
      type: 'failed',
      kind: 'write',
      message: `could not write ${what} to ${dir}: ${writeAdvice(err)}`,
      kimg: kimgNow(),
    });
  };

  let lastSnapshotStep = -1;
  /**
   * Renders and writes the grid, and G_ema alone beside the checkpoints (the Gallery draws the run
   * from it between checkpoints); false (and a 'failed' message) when either cannot be written.
   */
  const snapshot = async (): Promise<boolean> => {
    if (lastSnapshotStep === trainer.step) return true;
    lastSnapshotStep = trainer.step;
    const name = gridName(trainer.step);
    const png = await renderGrid((seeds, psi) => trainer.sample(seeds, psi), config.resolution, start.sampleSeeds);
    try {
      mkdirSync(start.snapshotDir, { recursive: true });
      await writeFileAtomic(join(start.snapshotDir, name), png, false);
    } catch (err) {
      writeFailed('a sample grid', start.snapshotDir, err);
      return false;
    }
    const generator = join(start.checkpointDir, liveGeneratorName(trainer.step, Date.now()));
    try {
      mkdirSync(start.checkpointDir, { recursive: true });
      await trainer.saveGenerator(generator);
    } catch (err) {
      writeFailed("the run's current generator", start.checkpointDir, err);
      return false;
    }
    channel.send({
      type: 'snapshot',
      kimg: kimgNow(),
      step: trainer.step,
      grid: `${start.snapshotKeyPrefix}/${name}`,
      generator,
    });
    return true;
  };
  /** Writes a checkpoint; false (and a 'failed' message) when the disk refuses it. */
  const checkpoint = async (): Promise<boolean> => {
    if (lastCheckpointStep === trainer.step) return true;
    const path = join(start.checkpointDir, checkpointName(trainer.step));
    try {
      const t0 = performance.now();
      mkdirSync(start.checkpointDir, { recursive: true });
      const { sha256, bytes } = await trainer.save(path, { [SAMPLER_KEY]: JSON.stringify(batches.snapshot()) });
      lastCheckpointStep = trainer.step;
      channel.send({
        type: 'checkpoint',
        kimg: kimgNow(),
        step: trainer.step,
        path,
        sha256,
        bytes,
        ms: performance.now() - t0,
      });
      return true;
    } catch (err) {
      writeFailed('a checkpoint', start.checkpointDir, err);
      return false;
    }
  };

  const end = await trainLoop(trainer, batches, {
    signal: stopping.signal,
    targetKimg: start.targetKimg,
    snapshotKimg: start.snapshotKimg,
    checkpointKimg: start.checkpointKimg,
    checkpointSeconds: start.checkpointSeconds,
    tickSeconds: start.tickSeconds,
    onStep: (step) => (stepNow = step),
    onTick: (tick) => channel.send({ type: 'tick', tick }),
    onSnapshot: snapshot,
    onCheckpoint: checkpoint,
    snapshotAsked: () => {
      const asked = commands.snapshot;
      commands.snapshot = false;
      return asked;
    },
  });
  // A failed write was reported; the app dying leaves the last checkpoint standing. Otherwise the
  // run ends with a checkpoint and says how.
  if (end === 'failed' || (end === 'aborted' && commands.gone)) return;
  const ending = end === 'done' ? 'done' : commands.stop ? 'stopped' : 'paused';
  if (await checkpoint()) channel.send({ type: ending, kimg: kimgNow(), step: trainer.step });
}

// A terminal's Ctrl-C goes to its whole foreground process group. Only the supervisor decides
// when this process stops (it asks for a pause, which writes a checkpoint first); where it
// could not be given a process group of its own (Electron's utilityProcess), ignore the signal.
process.on('SIGINT', () => {});
tolerateClosedStderr(); // a pipe read by the supervisor (child-stderr.ts), gone if it died

// Entry: wait for the start message on whichever channel exists.
const parentPort = (process as unknown as { parentPort?: Parameters<typeof electronChannel>[0] }).parentPort;
const channel = parentPort ? electronChannel(parentPort) : nodeChannel();
let started = false;
channel.onMessage((m) => {
  if (m.type !== 'start' || started) return;
  started = true;
  run(channel, m).then(
    () => process.exit(0),
    (err: Error) => {
      if (err instanceof FatalError) {
        channel.send({ type: 'failed', kind: err.kind, message: err.message, kimg: 0 });
        setTimeout(() => process.exit(0), 100); // let the message leave
        return;
      }
      // A crash the supervisor will see as a non-zero exit; say why first.
      console.error(`plumage trainer: ${err.stack ?? err.message}`);
      let message = firstLine(err);
      const outOfMemory = /Aborted\(\)|out of memory|memory access out of bounds|OOM/i.test(message);
      if (outOfMemory)
        message +=
          ' — out of memory: use a smaller preset or batch, or the GPU build ' +
          `(a wasm backend has at most ${WASM_LIMIT_MB / 1024} GB)`;
      channel.send({ type: 'error', message, step: stepNow, outOfMemory });
      setTimeout(() => process.exit(1), 100); // let the message leave
    },
  );
});
