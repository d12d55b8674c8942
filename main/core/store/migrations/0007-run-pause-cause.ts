import type { Migration } from '../db.js';

/**
 * What paused a run when no one pressed Pause, and when: the app quitting, the server stopping,
 * `plumage train` interrupted (each pauses its runs with a checkpoint), or the process that
 * trained it dying (found at the next start). The view says so beside Resume, in the viewer's
 * own clock; a run paused by its Pause button, or started again, has neither.
 */
export const migration0007: Migration = {
  version: 7,
  name: 'run pause cause',
  up: `
    ALTER TABLE runs ADD COLUMN paused_by TEXT CHECK (paused_by IN ('app', 'server', 'cli', 'crash'));
    ALTER TABLE runs ADD COLUMN paused_at INTEGER;   -- ms since the epoch; with paused_by
  `,
};
