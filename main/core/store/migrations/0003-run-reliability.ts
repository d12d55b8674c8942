import type { Migration } from '../db.js';

/**
 * What runs need to survive anything: a wall-clock checkpoint bound, a reason a run cannot
 * resume, checkpoints marked damaged when they fail verification, one grid row per file, and
 * a real foreign key from a fork to the checkpoint it continues from (ON DELETE RESTRICT, so
 * retention or a cascade can never delete a checkpoint something points to; a favourite's
 * foreign key to `checkpoints(id)` protects it the same way).
 */
export const migration0003: Migration = {
  version: 3,
  name: 'run reliability: checkpoint minutes, damaged checkpoints, fork foreign key',
  up: `
    ALTER TABLE runs ADD COLUMN checkpoint_minutes REAL NOT NULL DEFAULT 10 CHECK (checkpoint_minutes > 0);
    ALTER TABLE runs ADD COLUMN cannot_resume TEXT;              -- why Resume would fail again, else NULL

    -- SQLite cannot add a constraint to a column: add a referencing column, copy, swap names.
    ALTER TABLE runs ADD COLUMN parent_checkpoint INTEGER REFERENCES checkpoints(id) ON DELETE RESTRICT;
    UPDATE runs SET parent_checkpoint = parent_checkpoint_id
      WHERE parent_checkpoint_id IN (SELECT id FROM checkpoints);
    ALTER TABLE runs DROP COLUMN parent_checkpoint_id;
    ALTER TABLE runs RENAME COLUMN parent_checkpoint TO parent_checkpoint_id;
    CREATE INDEX runs_parent_checkpoint ON runs (parent_checkpoint_id);

    ALTER TABLE checkpoints ADD COLUMN damaged TEXT;            -- why it failed verification, else NULL

    -- Each restart used to add another row for the same grid file.
    DELETE FROM snapshots WHERE id NOT IN (SELECT MIN(id) FROM snapshots GROUP BY run_id, grid);
    CREATE UNIQUE INDEX snapshots_run_grid ON snapshots (run_id, grid);
  `,
};
