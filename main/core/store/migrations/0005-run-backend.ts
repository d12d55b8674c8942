import type { Migration } from '../db.js';

/**
 * What the trainer said at its last start, kept with the run: which backend (`runs.backend` holds
 * its description, adapter included) and the one-line hint about a faster one on this machine.
 * Held only in the supervisor's memory, the hint vanished with a restart of the app or server.
 */
export const migration0005: Migration = {
  version: 5,
  name: 'run backend kind and hint',
  up: `
    ALTER TABLE runs ADD COLUMN backend_kind TEXT;   -- cuda | webgpu | cpu-native | wasm | cpu, NULL before the first start
    ALTER TABLE runs ADD COLUMN backend_hint TEXT;   -- how a faster backend could be had here, else NULL
  `,
};
