/**
 * Where a trainer resumes from: the first of the run's checkpoints (newest first) that verifies,
 * each damaged or missing one reported on the way. A checkpoint carries, beside the weights, the
 * batch sampler's state (so a resumed run draws the same batches as one never paused).
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendName } from '../runtime/backend-info.js';
import { openEngine, type TrainingEngine } from '../parallel/engine.js';
import { RandomState } from '../gan/rng.js';
import { safetensorsMetadata } from '../netfile/safetensors.js';
import { TrainerFatalError, firstLine } from './failure.js';
import { FILE_MISSING, type ResumeCandidate, type TrainerEvents, type TrainerStart } from './protocol.js';

/** The checkpoint metadata key that holds the batch sampler's state. */
export const SAMPLER_KEY = 'plumage.sampler';

export interface Resumed {
  engine: TrainingEngine;
  from: ResumeCandidate;
  /** The sampler's state when the checkpoint was written (null: a checkpoint from before it was kept). */
  sampler: RandomState | null;
}

/**
 * Opens the first intact candidate of `start.resumeFrom`, telling `onDamaged` of each one that is
 * not; null when there are no candidates. Throws TrainerFatalError when none is intact ('missing'
 * when some are only not there: they may come back), and a RangeError where a fork's config does
 * not fit its parent's (a bad request, not a damaged file).
 */
export async function resumeEngine(
  start: Pick<TrainerStart, 'resumeFrom' | 'config' | 'seed'>,
  replicas: number,
  backend: BackendName,
  onDamaged: (d: TrainerEvents['checkpointDamaged']) => void,
): Promise<Resumed | null> {
  const damaged: string[] = [];
  const missing: string[] = [];
  for (const c of start.resumeFrom) {
    try {
      // The header alone (loadCheckpoint verifies the checksum as it loads).
      const meta = (await safetensorsMetadata(c.path, { requireChecksum: false }))[SAMPLER_KEY];
      const init = { kind: 'checkpoint', path: c.path, config: start.config, fork: c.fork, seed: start.seed } as const;
      const engine = await openEngine(init, replicas, backend);
      return { engine, from: c, sampler: meta ? RandomState.restore(JSON.parse(meta)) : null };
    } catch (err) {
      if (err instanceof RangeError) throw err;
      const gone = !existsSync(c.path);
      const reason = gone ? FILE_MISSING : firstLine(err);
      damaged.push(`${c.kimg.toFixed(3)} kimg: ${reason}`);
      if (gone) missing.push(c.path);
      onDamaged({ id: c.id, path: c.path, reason, missing: gone });
    }
  }
  if (start.resumeFrom.length === 0) return null;
  // A file that is not there may come back (a home copied in part, a folder moved aside): not a verdict.
  if (missing.length > 0) {
    const folders = [...new Set(missing.map((p) => dirname(p)))].join(', ');
    throw new TrainerFatalError(
      `no intact checkpoint to resume from (${damaged.join('; ')}): put the missing files back in ${folders} and resume`,
      'missing',
    );
  }
  throw new TrainerFatalError(`no intact checkpoint to resume from (${damaged.join('; ')})`);
}
