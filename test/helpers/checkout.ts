import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

/** Copied, not linked: the files a test rewrites, and the scripts that find the checkout from where they are. */
const COPIED = new Set(['dist', 'scripts', 'package.json']);
/** Left out: history, other builds' staging folders, and what tests wrote. */
const LEFT_OUT = /^(\.git|\.dist-.*|release|test)$/;

/**
 * A checkout of this repository at `dir` for tests that rebuild or install: its own dist/,
 * scripts/ and package.json, and links to the rest (sources, node_modules). Tests that rebuild
 * the app do it there, never in the dist/ the suite is running from. Returns its CLI.
 */
export function scratchCheckout(dir: string): { root: string; dist: string; cli: string } {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(REPO_ROOT)) {
    if (LEFT_OUT.test(name)) continue;
    if (COPIED.has(name)) cpSync(join(REPO_ROOT, name), join(dir, name), { recursive: true });
    else symlinkSync(join(REPO_ROOT, name), join(dir, name));
  }
  return { root: dir, dist: join(dir, 'dist'), cli: join(dir, 'dist', 'main', 'plumage.js') };
}
