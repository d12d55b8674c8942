/**
 * What the trainer process trains with: one GanTrainer in this thread, or N worker-thread
 * replicas (parallel.ts). Both implement TrainingEngine, so the training loop has one shape.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../runtime/backend-info.js';
import { currentBackend } from '../runtime/backend.js';
import { roundPlanner } from '../runtime/round-plan.js';
import { loadCheckpoint, saveCheckpoint, saveGenerator } from '../netfile/checkpoint.js';
import { trainerFromGenerator } from '../netfile/transfer.js';
import type { GanConfig } from '../gan/config.js';
import { ParallelTrainer } from './parallel.js';
import { sampleSeeds } from '../gan/sample.js';
import type { RoundPlanner } from '../gan/rounds.js';
import { GanTrainer, type PhaseName, type ReplicaOptions, type StepReport, type StepStats } from '../gan/training.js';

/**
 * Where the networks start: fresh, a checkpoint, or a generator file (fine-tune). From a
 * checkpoint, `config` is the run's: a fork trains on under it; a resume takes the checkpoint's
 * own (the same run's, so the same architecture) and `config` only sizes the replicas' buffers.
 */
export type EngineInit =
  | { kind: 'fresh'; config: GanConfig; seed: number }
  | { kind: 'checkpoint'; path: string; config: GanConfig; fork: boolean; seed: number }
  | { kind: 'generator'; path: string; config: GanConfig; seed: number };

/** What a training loop needs of its trainer, whatever its shape. */
export interface TrainingEngine {
  readonly config: GanConfig;
  readonly replicas: number;
  /** As of the last step: steps finished and real images shown. */
  readonly step: number;
  readonly imagesSeen: number;
  /** One step on [B,res,res,C] float32 reals in [-1, 1] (the whole batch; replicas split it). */
  trainStep(reals: Float32Array, only?: PhaseName[]): Promise<StepReport>;
  /** Means of the statistics since the last call (once per tick). */
  takeStats(): Promise<StepStats>;
  /** G_ema's images for `seeds` at truncation `psi`, constant noise: [res,res,3] uint8 each. */
  sample(seeds: number[], psi: number): Promise<Uint8Array[]>;
  /** A full checkpoint, written atomically with its checksum. */
  save(path: string, extraMetadata: Record<string, string>): Promise<{ bytes: number; sha256: string }>;
  /** G_ema alone (a generator file the Gallery can draw from), written atomically. */
  saveGenerator(path: string): Promise<{ bytes: number; sha256: string }>;
  /** Tensors and their bytes held by every tfjs instance it uses (as of the last step). */
  memory(): { tensors: number; bytes: number };
  close(): Promise<void>;
}

/**
 * Builds one trainer (the only one, or one replica) from `init`, its rounds sized by `rounds`
 * (runtime/round-plan.ts's planner for the backend the trainer will run on).
 */
export function buildTrainer(
  init: EngineInit,
  replica: ReplicaOptions | null,
  rounds: RoundPlanner,
): Promise<GanTrainer> | GanTrainer {
  if (init.kind === 'checkpoint')
    return loadCheckpoint(init.path, init.fork ? init.config : undefined, replica, init.seed, rounds);
  if (init.kind === 'generator') return trainerFromGenerator(init.path, init.seed, init.config, replica, rounds);
  return new GanTrainer(init.config, init.seed, replica, rounds);
}

/** One GanTrainer on this thread's backend. */
export class LocalEngine implements TrainingEngine {
  readonly replicas = 1;
  constructor(readonly trainer: GanTrainer) {}

  get config(): GanConfig {
    return this.trainer.config;
  }
  get step(): number {
    return this.trainer.counters.step;
  }
  get imagesSeen(): number {
    return this.trainer.counters.imagesSeen;
  }

  async trainStep(reals: Float32Array, only?: PhaseName[]): Promise<StepReport> {
    const c = this.config;
    const t = tf.tensor4d(reals, [c.batchSize, c.resolution, c.resolution, c.imgChannels]);
    try {
      return await this.trainer.trainStep(t, only);
    } finally {
      t.dispose();
    }
  }

  takeStats(): Promise<StepStats> {
    return this.trainer.takeStats();
  }

  sample(seeds: number[], psi: number): Promise<Uint8Array[]> {
    return sampleSeeds(this.trainer.G_ema, this.config, seeds, psi, 'const');
  }

  save(path: string, extraMetadata: Record<string, string>): Promise<{ bytes: number; sha256: string }> {
    return saveCheckpoint(this.trainer, path, extraMetadata);
  }

  saveGenerator(path: string): Promise<{ bytes: number; sha256: string }> {
    return saveGenerator(this.trainer, path);
  }

  memory(): { tensors: number; bytes: number } {
    const m = tf.memory();
    return { tensors: m.numTensors, bytes: m.numBytes };
  }

  close(): Promise<void> {
    this.trainer.dispose();
    return Promise.resolve();
  }
}

/**
 * A LocalEngine, or `replicas` worker-thread replicas on `backend` (one of REPLICA_BACKENDS).
 * A local trainer's rounds are sized for the backend this process chose unless `rounds` says
 * otherwise; each replica sizes its own for the backend its thread chose.
 */
export async function openEngine(
  init: EngineInit,
  replicas: number,
  backend: BackendName,
  rounds: RoundPlanner = roundPlanner(currentBackend()),
): Promise<TrainingEngine> {
  if (replicas <= 1) return new LocalEngine(await buildTrainer(init, null, rounds));
  return ParallelTrainer.open(init, replicas, backend);
}
