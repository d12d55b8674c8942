import type { Migration } from '../db.js';

/**
 * A favourite may hold a latent instead of a seed (a projected plate: its per-layer w's and,
 * optionally, its noise maps), and an edit: a move along one of its generator's directions
 * (method, layer range, direction number, amount). The directions are recomputed
 * deterministically from the generator file (and cached), so the four numbers redraw the same
 * bytes; the latent is a file under the home (`latents/<hash>.json`, stored relative like every
 * path inside it), named by its content: see docs/DECISIONS.md, "A favourite's latent is a file".
 *
 * SQLite cannot relax `seed NOT NULL` or add a table CHECK in place, so the table is rebuilt
 * (nothing references it) and every existing favourite is kept as it was: a seed, no edit.
 */
export const migration0011: Migration = {
  version: 11,
  name: 'favourites hold a latent or an edit',
  up: `
    CREATE TABLE favourites_0011 (
      id              INTEGER PRIMARY KEY,
      run_id          INTEGER REFERENCES runs(id) ON DELETE RESTRICT,
      checkpoint_id   INTEGER REFERENCES checkpoints(id) ON DELETE RESTRICT,
      generator_path  TEXT    NOT NULL,
      seed            INTEGER CHECK (seed BETWEEN 0 AND 4294967295),          -- NULL: the bird is its latent
      latent          TEXT    CHECK (latent GLOB 'latents/*.json'),           -- relative to the home
      psi             REAL    NOT NULL CHECK (psi BETWEEN 0 AND 1.2),
      noise_mode      TEXT    NOT NULL CHECK (noise_mode IN ('const', 'random')),
      mix_seed        INTEGER CHECK (mix_seed BETWEEN 0 AND 4294967295),
      mix_layers      TEXT    CHECK (mix_layers GLOB '[0-9]*-[0-9]*'),
      edit_method     TEXT    CHECK (edit_method IN ('sefa', 'ganspace')),
      edit_layers     TEXT    CHECK (edit_layers GLOB '[0-9]*-[0-9]*'),
      edit_direction  INTEGER CHECK (edit_direction BETWEEN 0 AND 511),
      edit_amount     REAL    CHECK (edit_amount BETWEEN -100 AND 100),
      name            TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      note            TEXT    NOT NULL DEFAULT '' CHECK (length(note) <= 10000),
      kimg            REAL,
      created_at      INTEGER NOT NULL,
      CHECK ((seed IS NULL) <> (latent IS NULL)),
      CHECK ((mix_seed IS NULL) = (mix_layers IS NULL)),
      CHECK ((edit_method IS NULL) = (edit_layers IS NULL) AND (edit_method IS NULL) = (edit_direction IS NULL)
             AND (edit_method IS NULL) = (edit_amount IS NULL)),
      CHECK (checkpoint_id IS NULL OR run_id IS NOT NULL)
    ) STRICT;
    INSERT INTO favourites_0011 (id, run_id, checkpoint_id, generator_path, seed, psi, noise_mode, mix_seed,
      mix_layers, name, note, kimg, created_at)
      SELECT id, run_id, checkpoint_id, generator_path, seed, psi, noise_mode, mix_seed, mix_layers, name, note,
        kimg, created_at FROM favourites;
    DROP TABLE favourites;
    ALTER TABLE favourites_0011 RENAME TO favourites;
    CREATE INDEX favourites_run ON favourites (run_id);
    CREATE INDEX favourites_checkpoint ON favourites (checkpoint_id);
    CREATE INDEX favourites_created ON favourites (created_at);
    CREATE INDEX favourites_latent ON favourites (latent);
  `,
};
