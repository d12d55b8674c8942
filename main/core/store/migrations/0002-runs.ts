import type { Migration } from '../db.js';

/** Training runs and what they produce: per-tick metrics, snapshot grids, checkpoints. */
export const migration0002: Migration = {
  version: 2,
  name: 'runs, ticks, snapshots, checkpoints',
  up: `
    CREATE TABLE runs (
      id               INTEGER PRIMARY KEY,
      dataset_id       INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
      parent_run_id    INTEGER REFERENCES runs(id) ON DELETE SET NULL,   -- forked from
      parent_checkpoint_id INTEGER,                                    -- the checkpoint it forked at
      init_from        TEXT,                                           -- generator file it fine-tunes (transfer learning)
      name             TEXT    NOT NULL,
      preset           TEXT    NOT NULL,
      config           TEXT    NOT NULL,                               -- GanConfig as JSON
      seed             INTEGER NOT NULL,                               -- weight initialisation seed
      sample_seeds     TEXT    NOT NULL,                               -- JSON array: the snapshot grid's fixed seeds
      target_kimg      REAL    NOT NULL,
      snapshot_kimg    REAL    NOT NULL,
      checkpoint_kimg  REAL    NOT NULL,
      state            TEXT    NOT NULL CHECK (state IN ('created', 'running', 'paused', 'stopped', 'crashed', 'done')),
      backend          TEXT,
      error            TEXT,                                           -- why it last stopped, if not by request
      kimg             REAL    NOT NULL DEFAULT 0,
      restarts         INTEGER NOT NULL DEFAULT 0,                     -- automatic restarts after crashes
      created_at       INTEGER NOT NULL,
      updated_at       INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX runs_dataset ON runs (dataset_id);

    CREATE TABLE ticks (
      id             INTEGER PRIMARY KEY,
      run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      kimg           REAL    NOT NULL,
      step           INTEGER NOT NULL,
      loss_g         REAL,
      loss_d         REAL,
      r1_penalty     REAL,
      pl_penalty     REAL,
      score_real     REAL,
      score_fake     REAL,
      augment_p      REAL,
      images_per_sec REAL,
      sec_per_kimg   REAL,
      tensors        INTEGER,
      rss_mb         REAL,
      dataset_images INTEGER,                                        -- images the trainer sampled from
      tensor_mb      REAL,                                           -- backend memory held in tensors
      at             INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX ticks_run_id ON ticks (run_id, id);

    CREATE TABLE snapshots (
      id      INTEGER PRIMARY KEY,
      run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      kimg    REAL    NOT NULL,
      step    INTEGER NOT NULL,
      grid    TEXT    NOT NULL,                                        -- media key of the PNG
      at      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX snapshots_run_kimg ON snapshots (run_id, kimg);

    CREATE TABLE checkpoints (
      id      INTEGER PRIMARY KEY,
      run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      kimg    REAL    NOT NULL,
      step    INTEGER NOT NULL,
      path    TEXT    NOT NULL,                                        -- absolute; listed only once whole on disk
      sha256  TEXT    NOT NULL,
      bytes   INTEGER NOT NULL,
      at      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX checkpoints_run_kimg ON checkpoints (run_id, kimg);
  `,
};
