import type { Migration } from '../db.js';

/**
 * Each snapshot grid is written with G_ema alone beside the checkpoints (home-layout.ts's
 * `gema-…` files), so the Gallery can draw a run's newest birds between checkpoints. The
 * snapshot keeps that file's path (relative to the home, like every path inside it), or NULL
 * once retention has deleted it or for grids written before.
 */
export const migration0009: Migration = {
  version: 9,
  name: "snapshots keep their G_ema's file",
  up: `ALTER TABLE snapshots ADD COLUMN generator TEXT;`,
};
