import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file compiles to dist/test/helpers/paths.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SAMPLE_PLATES = join(REPO_ROOT, 'resources', 'sample-plates');
export const CLI = join(REPO_ROOT, 'dist', 'main', 'plumage.js');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
export const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts');

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `plumage-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
