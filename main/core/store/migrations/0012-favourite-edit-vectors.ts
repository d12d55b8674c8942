import type { Migration } from '../db.js';

/**
 * A kept edit names the vector it moves along: a file under the home (`edits/<hash>.json`, stored
 * relative like every path inside it), named by its content. GANSpace's directions come from w's
 * sampled through the backend, so recomputing them on another backend may move a favourite by a
 * few ulps; the kept vector redraws the same bytes anywhere, and a redraw computes no directions.
 * Edits kept before this migration have none and are recomputed as before (see
 * docs/DECISIONS.md, "A kept edit names its vector").
 */
export const migration0012: Migration = {
  version: 12,
  name: 'favourites keep their edit vector',
  up: `
    ALTER TABLE favourites ADD COLUMN edit_vector TEXT
      CHECK (edit_vector IS NULL OR (edit_vector GLOB 'edits/*.json' AND edit_method IS NOT NULL));
    CREATE INDEX favourites_edit_vector ON favourites (edit_vector);
  `,
};
