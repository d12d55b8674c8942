/**
 * Checkpoint scores (migration 10): what the scorer beside the trainer computed for each
 * checkpoint, kept after retention deletes the checkpoint itself, and which checkpoints still
 * want one.
 */
import type { CheckpointScore } from '../../common/records.js';
import { fromStored } from '../home-layout.js';
import type { Db } from './db.js';
import type { CheckpointRow } from './runs.js';

interface ScoreRow {
  id: number;
  checkpoint_id: number | null;
  run_id: number;
  kimg: number;
  step: number;
  kid: number | null;
  kid_std: number | null;
  images: number;
  memorisation: number | null;
  label: string;
  error: string | null;
  computed_at: number;
}

export type NewScore = Omit<CheckpointScore, 'computedAt' | 'checkpointId'> & { checkpointId: number };

const toScore = (r: ScoreRow): CheckpointScore => ({
  runId: r.run_id,
  checkpointId: r.checkpoint_id,
  kimg: r.kimg,
  step: r.step,
  kid: r.kid,
  kidStd: r.kid_std,
  images: r.images,
  memorisation: r.memorisation,
  label: r.label,
  error: r.error,
  computedAt: r.computed_at,
});

export class ScoreStore {
  readonly #db: Db;
  readonly #home: string;
  constructor(db: Db, home: string) {
    this.#db = db;
    this.#home = home;
  }

  /** Birds the run's checkpoints are scored from (0: not scored); undefined when there is no such run. */
  kidImages(runId: number): number | undefined {
    return this.#db.prepare<[number], { kid_images: number }>('SELECT kid_images FROM runs WHERE id = ?').get(runId)
      ?.kid_images;
  }

  /**
   * Stores a checkpoint's score (or why it failed); a second score of the same checkpoint replaces
   * the first. False when the checkpoint (or its run) went meanwhile: nothing is stored for it.
   */
  record(s: NewScore): CheckpointScore | null {
    const exists = this.#db
      .prepare('SELECT 1 FROM checkpoints WHERE id = ? AND run_id = ?')
      .get(s.checkpointId, s.runId);
    if (!exists) return null;
    const row = this.#db
      .prepare<unknown[], ScoreRow>(
        `INSERT INTO checkpoint_scores
           (checkpoint_id, run_id, kimg, step, kid, kid_std, images, memorisation, label, error, computed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (checkpoint_id) DO UPDATE SET kid = excluded.kid, kid_std = excluded.kid_std,
           images = excluded.images, memorisation = excluded.memorisation, label = excluded.label,
           error = excluded.error, computed_at = excluded.computed_at
         RETURNING *`,
      )
      .get(
        s.checkpointId,
        s.runId,
        s.kimg,
        s.step,
        s.kid,
        s.kidStd,
        s.images,
        s.memorisation,
        s.label,
        s.error,
        Date.now(),
      )!;
    return toScore(row);
  }

  /** A run's scores, oldest first. */
  listForRun(runId: number): CheckpointScore[] {
    return this.#db
      .prepare<[number], ScoreRow>('SELECT * FROM checkpoint_scores WHERE run_id = ? ORDER BY step, id')
      .all(runId)
      .map(toScore);
  }

  /** The stored score of one checkpoint, if any. */
  forCheckpoint(checkpointId: number): CheckpointScore | undefined {
    const row = this.#db
      .prepare<[number], ScoreRow>('SELECT * FROM checkpoint_scores WHERE checkpoint_id = ?')
      .get(checkpointId);
    return row && toScore(row);
  }

  /**
   * Checkpoints of scored runs (kid_images > 0) with no score yet and not marked damaged, oldest
   * first: what a start (or a demand) still has to compute.
   */
  unscored(runId?: number): CheckpointRow[] {
    return this.#db
      .prepare<unknown[], CheckpointRow>(
        `SELECT c.* FROM checkpoints c JOIN runs r ON r.id = c.run_id
         WHERE r.kid_images > 0 AND c.damaged IS NULL AND (? IS NULL OR c.run_id = ?)
           AND NOT EXISTS (SELECT 1 FROM checkpoint_scores s WHERE s.checkpoint_id = c.id)
         ORDER BY c.at, c.id`,
      )
      .all(runId ?? null, runId ?? null)
      .map((c) => ({ ...c, path: fromStored(this.#home, c.path) }));
  }

  /**
   * The run's lineage: the runs it was forked from up to the first, and every run forked from
   * any of them, the asked run first, then by id. Bounded by the table (a cycle cannot loop).
   */
  lineage(runId: number): number[] {
    const parents = new Map(
      this.#db
        .prepare<[], { id: number; parent_run_id: number | null }>('SELECT id, parent_run_id FROM runs')
        .all()
        .map((r) => [r.id, r.parent_run_id]),
    );
    if (!parents.has(runId)) return [];
    let root = runId;
    const seen = new Set([root]);
    for (let p = parents.get(root); p != null && parents.has(p) && !seen.has(p); p = parents.get(root)) {
      root = p;
      seen.add(p);
    }
    const family = new Set([root]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [id, parent] of parents)
        if (parent !== null && family.has(parent) && !family.has(id)) {
          family.add(id);
          grew = true;
        }
    }
    return [runId, ...[...family].filter((id) => id !== runId).sort((a, b) => a - b)];
  }
}
