import type { Migration } from '../db.js';

/**
 * What a run started from a network file kept of it (the transfer report as JSON: networks,
 * blocks kept and started fresh, tensors copied, the file's kimg and ADA p), worked out when
 * the run is created so the app and `runs` can say it without opening the file again.
 */
export const migration0008: Migration = {
  version: 8,
  name: 'run started from',
  up: `
    ALTER TABLE runs ADD COLUMN started_from TEXT;   -- JSON; with init_from
  `,
};
