import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkUserFile } from './util/user-file.js';

/**
 * Why a path cannot be a dataset folder, in the user's words, or null when it is a folder:
 * "folder not found: /x" or "/x is a file, not a folder". Shared by the Studio (app, server)
 * and the CLI, which checks before it opens the home or starts a backend.
 */
export async function folderProblem(folder: string): Promise<string | null> {
  const abs = resolve(folder);
  const st = await stat(abs).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error) {
    if (st.code === 'ENOENT' || st.code === 'ENOTDIR') return `folder not found: ${abs}`;
    return `cannot open folder ${abs}: ${st.code ?? st.message}`;
  }
  return st.isDirectory() ? null : `${abs} is a file, not a folder`;
}

/**
 * The path a dataset folder is kept under: absolute, with its links resolved. `/proc/self/cwd`
 * names a different folder in every process that reads it, and `~/plates → /mnt/b/plates`
 * stays one dataset whichever name it is opened by. A folder that does not exist stays as given.
 */
export async function datasetFolder(folder: string): Promise<string> {
  const abs = resolve(folder);
  return realpath(abs).catch(() => abs);
}

/**
 * Why a path cannot be read as a file (a checkpoint, a generator), or null when it is one: what
 * util/user-file.ts says of it, so the CLI's early check and the opening agree.
 */
export async function fileProblem(file: string, what: string): Promise<string | null> {
  const checked = await checkUserFile(file, `${what} file`);
  return checked.ok ? null : checked.error.message;
}
