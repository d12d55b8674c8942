import { createHash } from 'node:crypto';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describeNonImage, hasImageExtension, SNIFF_BYTES, sniffImage, type ImageKind } from './sniff.js';
import { PERMISSION_DENIED, isInside, readCapped } from './scan.js';
import { UserFileError, kindOf } from '../util/user-file.js';

/** Bigger files are refused before being read (no plate scan comes near it). */
export const MAX_FILE_BYTES = 1024 * 1024 * 1024;

export type Inspection =
  /** The file no longer exists (deleted or renamed mid-ingest): drop it quietly. */
  | { kind: 'gone' }
  /** Not an image and not pretending to be one (notes.txt, a folder link): ignore quietly. */
  | { kind: 'ignored' }
  | { kind: 'rejected'; reason: string; size: number; mtimeMs: number; hash: string | null }
  | { kind: 'image'; format: ImageKind; bytes: Buffer; size: number; mtimeMs: number; hash: string };

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/**
 * Looks at one file of the folder: where it really is (symlinks are checked, never followed
 * outside `rootReal`), whether its content is an image, and its sha256.
 * `rootReal` is the folder's realpath.
 */
export async function inspectFile(rootReal: string, root: string, rel: string): Promise<Inspection> {
  const abs = join(root, rel);
  try {
    const link = await lstat(abs);
    let target = abs;
    if (link.isSymbolicLink()) {
      try {
        target = await realpath(abs);
      } catch (err) {
        if (errno(err) === 'ELOOP') return reject('symlink loop (the link points back at itself)', link);
        if (errno(err) === 'ENOENT') return reject('broken symlink (its target does not exist)', link);
        throw err;
      }
    }
    const st = link.isSymbolicLink() ? await stat(target) : link;
    if (st.isDirectory()) return { kind: 'ignored' }; // folders (linked or not) are walked, not read
    // A pipe would block the read forever, /dev/zero never ends: refused by what they are.
    if (!st.isFile()) return reject(`${target !== abs ? `symlink to ${target}, ` : ''}${kindOf(st)}, not a file`, link);
    if (target !== abs && !isInside(rootReal, target))
      return reject('symlink to a file outside the folder (not followed)', link);
    if (st.size > MAX_FILE_BYTES)
      return reject(`file is ${(st.size / 2 ** 30).toFixed(1)} GB, over the 1 GB limit`, st);
    // stat's size is not trusted (it may grow); the file was swapped for a pipe or device since: refused.
    const bytes = await readCapped(target, MAX_FILE_BYTES).catch((err: unknown) => {
      if (!(err instanceof UserFileError)) throw err;
      if (err.cause !== undefined) throw err.cause; // the system's error: decided below, as any other
      return err;
    });
    if (bytes instanceof UserFileError) return reject(bytes.message, st);
    if (!bytes) return reject('file is over the 1 GB limit', st);
    const format = sniffImage(bytes.subarray(0, SNIFF_BYTES));
    const hash = createHash('sha256').update(bytes).digest('hex');
    if (format === null) {
      if (!hasImageExtension(basename(rel))) return { kind: 'ignored' };
      return {
        kind: 'rejected',
        reason: describeNonImage(bytes.subarray(0, SNIFF_BYTES)),
        size: st.size,
        mtimeMs: Math.trunc(st.mtimeMs),
        hash,
      };
    }
    if (format === 'svg') {
      // librsvg would fetch files an SVG references (<image href="file:///…">); never render them.
      return {
        kind: 'rejected',
        reason: 'SVG vector images are not accepted (export it as PNG)',
        size: st.size,
        mtimeMs: Math.trunc(st.mtimeMs),
        hash,
      };
    }
    return { kind: 'image', format, bytes, size: st.size, mtimeMs: Math.trunc(st.mtimeMs), hash };
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return { kind: 'gone' };
    if (errno(err) === 'EACCES' || errno(err) === 'EPERM') {
      return { kind: 'rejected', reason: PERMISSION_DENIED, size: 0, mtimeMs: 0, hash: null };
    }
    if (errno(err) === 'EISDIR') return { kind: 'ignored' };
    throw err;
  }
}

function reject(reason: string, st: { size: number; mtimeMs: number }): Inspection {
  return { kind: 'rejected', reason, size: st.size, mtimeMs: Math.trunc(st.mtimeMs), hash: null };
}
