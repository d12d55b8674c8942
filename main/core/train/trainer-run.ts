/**
 * One run in the trainer process, from its start to its ending: initialise the backend (a preset
 * it cannot hold fails at once), open the engine (resume, fine-tune or fresh), train with
 * trainLoop, and end with a checkpoint when paused, stopped or done. What it says goes to `say`
 * (the `train` request's events); how it ended is its result, failures included (a crash as
 * `error`, with the step it happened at).
 */
import { initBackend } from '../runtime/backend.js';
import type { BackendName } from '../runtime/backend-info.js';
import { openEngine, type TrainingEngine } from '../parallel/engine.js';
import { effectiveReplicas } from '../parallel/replicas.js';
import { RandomState } from '../gan/rng.js';
import { WASM_LIMIT_MB, presetFit } from './capacity.js';
import { TrainerFatalError, firstLine } from './failure.js';
import { checkFineTuneFile } from './fine-tune.js';
import type { TrainEnd, TrainerEvents, TrainerStart } from './protocol.js';
import { resumeEngine } from './resume.js';
import { RunWriters } from './run-writers.js';
import { DatasetSampler } from './sampler.js';
import { trainLoop } from './train-loop.js';

/** What steers a run while it trains: the `pause`, `stop`, `snapshot` and `slots` requests, and the parent's end. */
export class TrainerControl {
  readonly #ending = new AbortController();
  #stop = false;
  #gone = false;
  #snapshot = false;
  #batches: DatasetSampler | null = null;
  #slots: number[] | null = null;

  /** Aborts when the run should end at the next step boundary. */
  get signal(): AbortSignal {
    return this.#ending.signal;
  }
  get stopping(): boolean {
    return this.#stop;
  }
  /** The parent is gone: the run ends at once, and its last checkpoint stands. */
  get gone(): boolean {
    return this.#gone;
  }

  pause(): void {
    this.#ending.abort();
  }
  stop(): void {
    this.#stop = true;
    this.#ending.abort();
  }
  parentGone(): void {
    this.#gone = true;
    this.#ending.abort();
  }
  askSnapshot(): void {
    this.#snapshot = true;
  }
  /** Whether a snapshot was asked for since the last call. */
  takeSnapshotAsked(): boolean {
    const asked = this.#snapshot;
    this.#snapshot = false;
    return asked;
  }
  setSlots(slots: number[]): void {
    if (this.#batches) this.#batches.setSlots(slots);
    else this.#slots = slots; // before the sampler exists: it starts from these
  }
  /** The sampler new slots go to from now on. */
  attach(batches: DatasetSampler): void {
    this.#batches = batches;
    if (this.#slots) batches.setSlots(this.#slots);
  }
}

export type Say = <E extends keyof TrainerEvents>(name: E, payload: TrainerEvents[E]) => void;

/** Trains `start`'s run until it ends; never throws (a crash is its `error` ending). */
export async function trainRun(start: TrainerStart, control: TrainerControl, say: Say): Promise<TrainEnd | null> {
  const where = { step: -1 }; // the step in training now (-1 before the first): where a crash happened
  try {
    return await train(start, control, say, where);
  } catch (err) {
    if (err instanceof TrainerFatalError) return { type: 'failed', kind: err.kind, message: err.message, kimg: 0 };
    console.error(`plumage trainer: ${(err as Error).stack ?? String(err)}`);
    return crashEnd(err, where.step);
  }
}

/** An unexpected error as the ending it is: its first line, with advice when it ran out of memory. */
export function crashEnd(err: unknown, step: number): TrainEnd {
  let message = firstLine(err);
  const outOfMemory = /Aborted\(\)|out of memory|memory access out of bounds|OOM/i.test(message);
  if (outOfMemory)
    message +=
      ' — out of memory: use a smaller preset or batch, or the GPU build ' +
      `(a wasm backend has at most ${WASM_LIMIT_MB / 1024} GB)`;
  return { type: 'error', message, step, outOfMemory };
}

async function train(
  start: TrainerStart,
  control: TrainerControl,
  say: Say,
  where: { step: number },
): Promise<TrainEnd | null> {
  const info = await initBackend(start.backend ?? start.config.backend);
  // Before a single tensor is made: a preset this backend cannot hold fails now, with the reason.
  const fit = presetFit(start.config.preset, info.kind);
  if (!fit.fits) throw new TrainerFatalError(fit.reason!, 'unsupported');
  // Replicas (worker threads, each its own wasm instance) where the backend is single-threaded.
  const { replicas, note } = effectiveReplicas(start.config.replicas ?? 1, info.kind);
  const resumed = await resumeEngine(start, replicas, info.kind, (d) => say('checkpointDamaged', d));
  const engine = resumed?.engine ?? (await openFresh(start, replicas, info.kind));
  const samplerRng = resumed?.sampler ?? new RandomState((start.seed + 0x5eed) >>> 0);
  const config = engine.config;
  const batches = new DatasetSampler(
    start.cacheFile,
    start.cacheResolution,
    config.resolution,
    start.slots,
    samplerRng,
  );
  control.attach(batches);
  const kimgNow = (): number => engine.imagesSeen / 1000;
  const shape = engine.replicas > 1 ? ` × ${engine.replicas} replicas` : note ? ` (${note})` : '';
  say('started', {
    backend: info.kind,
    description: info.description + shape,
    hint: info.hint,
    replicas: engine.replicas,
    kimg: kimgNow(),
    step: engine.step,
    resumedFrom: resumed?.from.id ?? null,
  });

  // A fork has no checkpoint of its own yet: its first one is written even at the parent's step.
  const checkpointed = resumed && !resumed.from.fork ? engine.step : -1;
  const writers = new RunWriters(
    engine,
    start,
    batches,
    {
      snapshot: (e) => say('snapshot', e),
      checkpoint: (e) => say('checkpoint', e),
      failed: (e) => say('failed', e),
    },
    checkpointed,
  );
  const end = await trainLoop(engine, batches, {
    signal: control.signal,
    targetKimg: start.targetKimg,
    snapshotKimg: start.snapshotKimg,
    checkpointKimg: start.checkpointKimg,
    checkpointSeconds: start.checkpointSeconds,
    tickSeconds: start.tickSeconds,
    onStep: (step) => (where.step = step),
    onTick: (tick) => say('tick', { tick }),
    onSnapshot: () => writers.snapshot(),
    onCheckpoint: () => writers.checkpoint(),
    snapshotAsked: () => control.takeSnapshotAsked(),
  });
  // A failed write was said; the parent's end leaves the last checkpoint standing. Otherwise the
  // run ends with a checkpoint and says how.
  if (end === 'aborted' && control.gone) return null;
  if (end !== 'failed' && (await writers.checkpoint()))
    return {
      type: end === 'done' ? 'done' : control.stopping ? 'stopped' : 'paused',
      kimg: kimgNow(),
      step: engine.step,
    };
  return { type: 'failed', ...writers.failure! };
}

/** A fine-tune (G from a generator file, checked again: it may have changed since) or a fresh start. */
async function openFresh(start: TrainerStart, replicas: number, backend: BackendName): Promise<TrainingEngine> {
  if (!start.initFrom) return openEngine({ kind: 'fresh', config: start.config, seed: start.seed }, replicas, backend);
  await checkFineTuneFile(start.initFrom, start.config).catch((err: Error) => {
    throw new TrainerFatalError(`${err.message}. Put the generator file back, then Resume`, 'input');
  });
  const init = { kind: 'generator', path: start.initFrom, config: start.config, seed: start.seed } as const;
  return openEngine(init, replicas, backend);
}
