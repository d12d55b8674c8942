/**
 * One insight task through a gallery task runner (its generator process in the app and `serve`,
 * this process in the CLI): the runner writes the result whole to a JSON file in the home, which
 * is read back and removed.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskFile } from '../gallery/tasks.js';
import type { TaskRunner } from '../gallery/runner.js';
import { InsightInputError } from './errors.js';
import type { Progress } from './metrics.js';
import type { InsightTask } from './tasks.js';

/** Where results are written by the runner and read back (then removed). */
const RESULTS_DIR = 'insight';

export async function submitInsight<T>(
  runner: TaskRunner,
  home: string,
  task: InsightTask,
  onProgress?: (p: Progress) => void,
  onStart?: (jobId: number) => void,
): Promise<T> {
  const dir = join(home, RESULTS_DIR);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${randomUUID()}.json`);
  const { id, done } = runner.submit({ kind: 'insight', task, out }, (f: TaskFile) => {
    if (f.progress) onProgress?.(f.progress as Progress);
  });
  onStart?.(id);
  const r = await done;
  try {
    if (r.cancelled || r.files.length === 0) throw new InsightInputError('cancelled');
    return JSON.parse(await readFile(out, 'utf8')) as T;
  } finally {
    await rm(out, { force: true });
  }
}
