/**
 * What a trainer writes as it goes: sample grids (each with G_ema alone beside the checkpoints,
 * for the Gallery) and checkpoints (with the batch sampler's state). Each write is said as an
 * event once its file is whole; a write the disk refuses is said once (the first failure wins)
 * and kept as the run's ending, and training ends there (trainLoop).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointName, gridName, liveGeneratorName } from '../home-layout.js';
import type { TrainingEngine } from '../parallel/engine.js';
import { writeFileAtomic } from '../util/atomic.js';
import { writeAdvice } from './failure.js';
import { renderGrid } from './grid.js';
import type { TrainerEvents, TrainerFailure, TrainerStart } from './protocol.js';
import { SAMPLER_KEY } from './resume.js';

type Dirs = Pick<TrainerStart, 'checkpointDir' | 'snapshotDir' | 'snapshotKeyPrefix' | 'sampleSeeds'>;

export interface WriterEvents {
  snapshot(e: TrainerEvents['snapshot']): void;
  checkpoint(e: TrainerEvents['checkpoint']): void;
  failed(e: TrainerFailure): void;
}

export class RunWriters {
  readonly #engine: TrainingEngine;
  readonly #dirs: Dirs;
  readonly #sampler: { snapshot(): unknown };
  readonly #say: WriterEvents;
  #lastSnapshotStep = -1;
  #lastCheckpointStep: number;
  #failure: TrainerFailure | null = null;

  /**
   * `checkpointed`: the step whose checkpoint is on disk already (a resume's; -1: none, and a
   * fork's first checkpoint is written even at its parent's step).
   */
  constructor(
    engine: TrainingEngine,
    dirs: Dirs,
    sampler: { snapshot(): unknown },
    say: WriterEvents,
    checkpointed = -1,
  ) {
    this.#engine = engine;
    this.#dirs = dirs;
    this.#sampler = sampler;
    this.#say = say;
    this.#lastCheckpointStep = checkpointed;
  }

  /** The first write that failed (the run pauses with it), null while none has. */
  get failure(): TrainerFailure | null {
    return this.#failure;
  }

  #kimg(): number {
    return this.#engine.imagesSeen / 1000;
  }

  #failed(what: string, dir: string, err: unknown): false {
    if (this.#failure) return false;
    this.#failure = {
      kind: 'write',
      message: `could not write ${what} to ${dir}: ${writeAdvice(err)}`,
      kimg: this.#kimg(),
    };
    this.#say.failed(this.#failure);
    return false;
  }

  /**
   * Renders and writes the grid, and G_ema alone beside the checkpoints (the Gallery draws the run
   * from it between checkpoints); false when either cannot be written. Once per step.
   */
  async snapshot(): Promise<boolean> {
    const engine = this.#engine;
    const { snapshotDir, checkpointDir } = this.#dirs;
    if (this.#lastSnapshotStep === engine.step) return true;
    this.#lastSnapshotStep = engine.step;
    const name = gridName(engine.step);
    const png = await renderGrid(
      (seeds, psi) => engine.sample(seeds, psi),
      engine.config.resolution,
      this.#dirs.sampleSeeds,
    );
    try {
      mkdirSync(snapshotDir, { recursive: true });
      await writeFileAtomic(join(snapshotDir, name), png, false);
    } catch (err) {
      return this.#failed('a sample grid', snapshotDir, err);
    }
    const generator = join(checkpointDir, liveGeneratorName(engine.step, Date.now()));
    try {
      mkdirSync(checkpointDir, { recursive: true });
      await engine.saveGenerator(generator);
    } catch (err) {
      return this.#failed("the run's current generator", checkpointDir, err);
    }
    const grid = `${this.#dirs.snapshotKeyPrefix}/${name}`;
    this.#say.snapshot({ kimg: this.#kimg(), step: engine.step, grid, generator });
    return true;
  }

  /** Writes a checkpoint (once per step); false when the disk refuses it. */
  async checkpoint(): Promise<boolean> {
    const engine = this.#engine;
    const dir = this.#dirs.checkpointDir;
    if (this.#lastCheckpointStep === engine.step) return true;
    const path = join(dir, checkpointName(engine.step));
    try {
      const t0 = performance.now();
      mkdirSync(dir, { recursive: true });
      const { sha256, bytes } = await engine.save(path, { [SAMPLER_KEY]: JSON.stringify(this.#sampler.snapshot()) });
      this.#lastCheckpointStep = engine.step;
      this.#say.checkpoint({ kimg: this.#kimg(), step: engine.step, path, sha256, bytes, ms: performance.now() - t0 });
      return true;
    } catch (err) {
      return this.#failed('a checkpoint', dir, err);
    }
  }
}
