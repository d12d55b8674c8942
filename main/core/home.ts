import envPaths from 'env-paths';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { databaseFile, datasetIdsOnDisk, runIdsOnDisk } from './home-layout.js';
import { DatabaseDamagedError, openDatabase, type Db } from './store/db.js';

export { DB_FILE, datasetIdsOnDisk, runIdsOnDisk } from './home-layout.js';

/**
 * Where Plumage keeps its database, caches, checkpoints and exports:
 * `--home DIR`, else $PLUMAGE_HOME, else the per-user app-data folder (the same one Electron's
 * `userData` uses for an app named "Plumage" on Linux/macOS/Windows conventions).
 */
export function resolveHome(flag?: string): string {
  if (flag) return resolve(flag);
  if (process.env.PLUMAGE_HOME) return resolve(process.env.PLUMAGE_HOME);
  return envPaths('Plumage', { suffix: '' }).data;
}

/** Creates the home if needed and proves it is writable, with an error that says what to do. */
export function prepareHome(home: string): string {
  try {
    makeFolders(home);
    accessSync(home, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(
      `cannot write to the Plumage home ${home} (${code}); choose another with --home DIR or PLUMAGE_HOME`,
    );
  }
  return home;
}

/**
 * mkdir -p, one level at a time. Node's own recursive mkdir retries forever where a parent exists
 * but refuses new entries with ENOENT (procfs: `--home /proc/nope` spun at 100 % CPU); here the
 * first level that cannot be made throws.
 */
function makeFolders(path: string): void {
  const missing: string[] = [];
  let at = path;
  while (!statSync(at, { throwIfNoEntry: false })) {
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const folder of missing) mkdirSync(folder);
  if (!statSync(path).isDirectory()) throw Object.assign(new Error(`${path} is not a folder`), { code: 'ENOTDIR' });
}

/**
 * Opens the home's database. A zero-byte database beside the files of runs or datasets is a
 * damaged one (a truncated copy, a full disk), not a fresh home: opening it would start empty
 * and hand out the ids of runs whose files are still there.
 */
export function openHomeDatabase(home: string): Db {
  const file = databaseFile(home);
  if (statSync(file, { throwIfNoEntry: false })?.size === 0) {
    const runs = runIdsOnDisk(home);
    const datasets = datasetIdsOnDisk(home);
    if (runs.length + datasets.length > 0) {
      const held = [
        ...(runs.length ? [`${runs.length} run folder${runs.length === 1 ? '' : 's'}`] : []),
        ...(datasets.length ? [`files of ${datasets.length} dataset${datasets.length === 1 ? '' : 's'}`] : []),
      ];
      throw new DatabaseDamagedError(file, `it is empty (0 bytes), yet the home holds ${held.join(' and ')}`);
    }
  }
  return openDatabase(file);
}
