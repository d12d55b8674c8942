import type { Migration } from '../db.js';

/**
 * Each checkpoint's quality score, computed beside the trainer (insight/checkpoint-scorer.ts), and
 * the run setting that asks for it. A score keeps its run, kimg and step: retention deletes old
 * checkpoints (the score's checkpoint_id then becomes NULL), and the curve keeps its points. A
 * score that failed keeps why (`error`, kid NULL), so it is not retried at every start.
 */
export const migration0010: Migration = {
  version: 10,
  name: 'checkpoint scores (KID, memorisation) and the run setting for them',
  up: `
    ALTER TABLE runs ADD COLUMN kid_images INTEGER NOT NULL DEFAULT 1000 CHECK (kid_images >= 0);
    CREATE TABLE checkpoint_scores (
      id            INTEGER PRIMARY KEY,
      checkpoint_id INTEGER UNIQUE REFERENCES checkpoints(id) ON DELETE SET NULL,
      run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      kimg          REAL    NOT NULL,
      step          INTEGER NOT NULL,
      kid           REAL,
      kid_std       REAL,
      images        INTEGER NOT NULL CHECK (images >= 0),
      memorisation  REAL,
      label         TEXT    NOT NULL,
      error         TEXT,
      computed_at   INTEGER NOT NULL,
      CHECK ((kid IS NULL) = (error IS NOT NULL))
    ) STRICT;
    CREATE INDEX checkpoint_scores_run ON checkpoint_scores (run_id, step);
  `,
};
