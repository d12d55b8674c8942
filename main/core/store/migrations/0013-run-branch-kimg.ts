import type { Migration } from '../db.js';

/**
 * A fork remembers where it branched: the kimg of the parent checkpoint it started from. The
 * checkpoint pointer (parent_checkpoint_id) is let go once the fork writes a checkpoint of its
 * own (run-journal), so the KID chart could not join the fork's line to its parent's. Forks that
 * still point at their checkpoint get its kimg now; older forks have nothing left that says where
 * they began (their first tick is already past it), so they stay null and their line unjoined.
 */
export const migration0013: Migration = {
  version: 13,
  name: 'runs keep the kimg they were forked at',
  up: `
    ALTER TABLE runs ADD COLUMN branch_kimg REAL CHECK (branch_kimg IS NULL OR branch_kimg >= 0);
    UPDATE runs SET branch_kimg = (SELECT kimg FROM checkpoints WHERE id = runs.parent_checkpoint_id)
      WHERE parent_checkpoint_id IS NOT NULL;
  `,
};
