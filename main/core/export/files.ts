/**
 * Where exports go: file names made from a plate's number and name, paths that stay inside the
 * chosen folder, and writes that never replace a file unless asked to.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdtemp, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { writeFully } from '../util/atomic.js';
import { MAX_PATH_BYTES, utf8Length, whyBadFileName } from '../util/text.js';
import { writeFailed } from './write-errors.js';

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

/** Bytes a slug may take: room is left for what names add to it (`plate-001-…`, `-timelapse-0000.png`). */
const MAX_SLUG_BYTES = 180;

/**
 * "Avis fictitia / Ærø" → "avis-fictitia-ærø": letters and digits of any script, dashes between,
 * at most `maxLength` characters and MAX_SLUG_BYTES (sixty 4-byte CJK letters would not fit a name).
 */
export function slug(name: string, maxLength = 60): string {
  const s = name
    .normalize('NFC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  const chars = [...s].slice(0, maxLength);
  while (utf8Length(chars.join('')) > MAX_SLUG_BYTES) chars.pop();
  return chars.join('').replace(/-+$/, '') || 'untitled';
}

export function printFileName(plate: number, name: string, ext: string): string {
  return `plate-${String(plate).padStart(3, '0')}-${slug(name)}.${ext}`;
}

/**
 * A file name joined to the chosen folder. Refuses what whyBadFileName refuses (separators,
 * `..`, control and bidirectional-override characters, names over 255 bytes) and a whole path
 * longer than the system takes.
 */
export function outputPath(folder: string, fileName: string): string {
  const why = whyBadFileName(fileName);
  if (why) throw new ExportPathError(why);
  const root = resolve(folder);
  const path = resolve(root, fileName);
  if (!path.startsWith(root.endsWith(sep) ? root : root + sep))
    throw new ExportPathError(`${JSON.stringify(fileName)} would be written outside ${root}`);
  if (utf8Length(path) > MAX_PATH_BYTES)
    throw new ExportPathError(`${path} is ${utf8Length(path)} bytes long; a path can have at most ${MAX_PATH_BYTES}`);
  return path;
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

/**
 * A temp file beside `path`, hidden, that `moveInPlace` turns into `path`. Its name does not
 * grow with `path`'s, so any name that fits the folder has a temp file that fits too.
 */
export const tempPathFor = (path: string): string =>
  join(dirname(path), `.plumage-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);

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

/** Writes `data` to a temp file and moves it in place (see moveInPlace); a failure leaves nothing. */
export async function writeExport(path: string, data: Uint8Array, overwrite: boolean): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeWhole(tmp, data);
    await moveInPlace(tmp, path, overwrite);
  } catch (err) {
    throw writeFailed(err, path);
  }
}

async function writeWhole(file: string, data: Uint8Array): Promise<void> {
  const fh = await open(file, 'wx');
  try {
    await writeFully(fh, data);
  } catch (err) {
    await fh.close();
    await unlink(file).catch(() => undefined);
    throw err;
  }
  await fh.close();
}

/**
 * A set of files that appears whole or not at all (a PNG sequence): each is written into a
 * hidden folder inside the target folder, and `commit` moves them all in. Every name is checked
 * for files in the way before the first is written; a failure while writing or moving removes
 * what was staged and what was moved, so a failed export leaves nothing behind.
 */
export class StagedSet {
  readonly #folder: string;
  readonly #staging: string;
  readonly #overwrite: boolean;
  readonly #names: string[] = [];

  private constructor(folder: string, staging: string, overwrite: boolean) {
    this.#folder = folder;
    this.#staging = staging;
    this.#overwrite = overwrite;
  }

  /** Refuses (ExistsError) if any of `names` is in the way, then makes the staging folder. */
  static async open(folder: string, names: string[], overwrite: boolean): Promise<StagedSet> {
    await refuseOverwrite(
      names.map((n) => outputPath(folder, n)),
      overwrite,
    );
    const staging = await mkdtemp(join(folder, `.plumage-${process.pid}-`)).catch((err: unknown) => {
      throw writeFailed(err, `into ${folder}`);
    });
    return new StagedSet(folder, staging, overwrite);
  }

  get written(): number {
    return this.#names.length;
  }

  async write(name: string, data: Uint8Array): Promise<void> {
    try {
      await writeWhole(join(this.#staging, name), data);
    } catch (err) {
      throw writeFailed(err, `${name} into ${this.#folder}`);
    }
    this.#names.push(name);
  }

  /** Moves every staged file into the folder; returns their paths. */
  async commit(): Promise<string[]> {
    const moved: string[] = [];
    try {
      for (const name of this.#names) {
        const path = join(this.#folder, name);
        await moveInPlace(join(this.#staging, name), path, this.#overwrite);
        moved.push(path);
      }
    } catch (err) {
      if (!this.#overwrite) await Promise.all(moved.map((p) => unlink(p).catch(() => undefined)));
      await this.discard();
      throw err instanceof ExistsError ? err : writeFailed(err, `${this.#names.length} files into ${this.#folder}`);
    }
    await this.discard();
    return moved;
  }

  /** Removes the staging folder and whatever is in it. */
  async discard(): Promise<void> {
    await rm(this.#staging, { recursive: true, force: true });
  }
}
