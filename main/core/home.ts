import envPaths from 'env-paths';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

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
    mkdirSync(home, { recursive: true });
    accessSync(home, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(
      `cannot write to the Plumage home ${home} (${code}); choose another with --home DIR or PLUMAGE_HOME`,
    );
  }
  return home;
}
