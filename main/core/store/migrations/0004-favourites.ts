import type { Migration } from '../db.js';

/**
 * Favourite birds: enough to regenerate each one bit-identically (generator file, seed, ψ, noise
 * mode, and for a style mix the second seed and its layer range), plus a name and a note.
 *
 * Both foreign keys are ON DELETE RESTRICT: retention cannot remove a checkpoint a favourite
 * points to (it skips it), and deleting a run removes its favourites explicitly, after asking,
 * never as a silent cascade. A favourite of a loose generator file has neither key, only its path.
 */
export const migration0004: Migration = {
  version: 4,
  name: 'favourites',
  up: `
    CREATE TABLE favourites (
      id              INTEGER PRIMARY KEY,
      run_id          INTEGER REFERENCES runs(id) ON DELETE RESTRICT,
      checkpoint_id   INTEGER REFERENCES checkpoints(id) ON DELETE RESTRICT,
      generator_path  TEXT    NOT NULL,                        -- absolute path of the generator file
      seed            INTEGER NOT NULL CHECK (seed BETWEEN 0 AND 4294967295),
      psi             REAL    NOT NULL CHECK (psi BETWEEN 0 AND 1.2),
      noise_mode      TEXT    NOT NULL CHECK (noise_mode IN ('const', 'random')),
      mix_seed        INTEGER CHECK (mix_seed BETWEEN 0 AND 4294967295),  -- style mix: layers from this seed
      mix_layers      TEXT    CHECK (mix_layers GLOB '[0-9]*-[0-9]*'),     -- style mix: first-last layer, "4-8"
      name            TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      note            TEXT    NOT NULL DEFAULT '' CHECK (length(note) <= 10000),
      kimg            REAL,                                    -- the checkpoint's kimg, when known
      created_at      INTEGER NOT NULL,                        -- unix ms
      CHECK ((mix_seed IS NULL) = (mix_layers IS NULL)),
      CHECK (checkpoint_id IS NULL OR run_id IS NOT NULL)
    ) STRICT;
    CREATE INDEX favourites_run ON favourites (run_id);
    CREATE INDEX favourites_checkpoint ON favourites (checkpoint_id);
    CREATE INDEX favourites_created ON favourites (created_at);
  `,
};
