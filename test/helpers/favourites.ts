import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from './paths.js';

const run = promisify(execFile);

/** The two named birds the browser walks keep: seed and name. */
export const TWO_BIRDS: readonly (readonly [seed: string, name: string])[] = [
  ['5', 'Avis fictitia'],
  ['9', 'Pica imaginaria'],
];

/** A fresh tiny generator file at `out` (`plumage init`), from `seed`; returns `out`. */
export async function tinyGenerator(out: string, seed: number): Promise<string> {
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', String(seed), '--out', out]);
  return out;
}

/**
 * Keeps `birds` of `generator` as favourites in `home` through the CLI, as a user would before
 * a server owns the home (`plumage favourite add`, one bird at a time).
 */
export async function keepFavourites(
  home: string,
  generator: string,
  birds: readonly (readonly [seed: string, name: string])[],
): Promise<void> {
  for (const [seed, name] of birds)
    await run(process.execPath, [
      CLI,
      'favourite',
      'add',
      '--checkpoint',
      generator,
      '--seed',
      seed,
      '--name',
      name,
      '--home',
      home,
    ]);
}
