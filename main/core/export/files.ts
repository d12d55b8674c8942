/**
 * Where exports go: file names made from a plate's number and name, paths that stay inside the
 * chosen folder, and writes that never replace a file unless asked to.
 */
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { writeFully } from '../util/atomic.js';

export class ExportPathError extends RangeError {
  readonly code = 'invalid-input';
}
/** A request that cannot be carried out as asked (reported to the user as invalid input). */
export class ExportInputError extends RangeError {
  readonly code = 'invalid-input';
}
/** Files that exist already; the caller asks the user, then repeats with overwrite. */
export class ExistsError extends Error {
  readonly code = 'invalid-input';
  constructor(readonly files: string[]) {
    super(
      `${files.length === 1 ? 'a file' : `${files.length} files`} would be replaced: ${files
        .slice(0, 5)
        .map((f) => basename(f))
        .join(
          ', ',
        )}${files.length > 5 ? ', …' : ''} (allow overwriting to replace ${files.length === 1 ? 'it' : 'them'})`,
    );
  }
}

/** "Avis fictitia / Ærø" → "avis-fictitia-ærø": letters and digits of any script, dashes between. */
export function slug(name: string, maxLength = 60): string {
  const s = name
    .normalize('NFC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return [...s].slice(0, maxLength).join('').replace(/-+$/, '') || 'untitled';
}

export function printFileName(plate: number, name: string, ext: string): string {
  return `plate-${String(plate).padStart(3, '0')}-${slug(name)}.${ext}`;
}

/**
 * A file name the user typed, joined to the chosen folder. Refuses separators, `..`, absolute
 * paths and anything that would land outside the folder.
 */
export function outputPath(folder: string, fileName: string): string {
  if (!fileName || fileName === '.' || fileName === '..')
    throw new ExportPathError(`not a file name: ${JSON.stringify(fileName)}`);
  if (/[/\\]/.test(fileName) || isAbsolute(fileName))
    throw new ExportPathError(`a file name cannot contain a path separator: ${JSON.stringify(fileName)}`);
  if ([...fileName].some((c) => c.charCodeAt(0) < 0x20))
    throw new ExportPathError('a file name cannot contain control characters');
  const root = resolve(folder);
  const path = resolve(root, fileName);
  if (!path.startsWith(root.endsWith(sep) ? root : root + sep))
    throw new ExportPathError(`${JSON.stringify(fileName)} would be written outside ${root}`);
  return path;
}

/** The export folder must exist and be a folder (it is not created: a typo should not make one). */
export async function checkFolder(folder: string): Promise<string> {
  const root = resolve(folder);
  const st = await stat(root).catch(() => null);
  if (!st) throw new ExportPathError(`export folder not found: ${root}`);
  if (!st.isDirectory()) throw new ExportPathError(`not a folder: ${root}`);
  return root;
}

export async function existing(paths: string[]): Promise<string[]> {
  const found = await Promise.all(
    paths.map((p) =>
      stat(p).then(
        () => p,
        () => null,
      ),
    ),
  );
  return found.filter((p): p is string => p !== null);
}

/** Throws ExistsError unless overwriting is allowed or none of `paths` exists. */
export async function refuseOverwrite(paths: string[], overwrite: boolean): Promise<void> {
  if (overwrite) return;
  const found = await existing(paths);
  if (found.length > 0) throw new ExistsError(found);
}

/** A temp file beside `path`, hidden, that `moveInPlace` turns into `path`. */
export const tempPathFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);

/**
 * Moves a finished temp file to `path`: a reader never sees half an export. Without `overwrite`
 * the move is a hard link, which fails if `path` appeared since the check, so a file made in the
 * meantime is not replaced either. The temp file is gone afterwards whatever happened.
 */
export async function moveInPlace(tmp: string, path: string, overwrite: boolean): Promise<void> {
  try {
    if (overwrite) await rename(tmp, path);
    else {
      await link(tmp, path).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? new ExistsError([path]) : err;
      });
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Writes `data` to a temp file and moves it in place (see moveInPlace). */
export async function writeExport(path: string, data: Uint8Array, overwrite: boolean): Promise<void> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'wx');
  try {
    await writeFully(fh, data);
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await moveInPlace(tmp, path, overwrite);
}
