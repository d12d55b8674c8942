/**
 * What a page may download from `serve`: files under the home's `exports/`, named by their key
 * (home-layout's exportKey), and nothing else. A key is checked as text first (no `..`, no hidden
 * or half-written `.…tmp` files, no backslashes or control characters), then on disk: its real
 * path, links followed, must still lie under the real `exports/` folder and be a file.
 */
import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import { exportsDir } from '../home-layout.js';

/** A key longer than this names no file Plumage wrote (a folder and a 255-byte name fit well under it). */
export const MAX_EXPORT_KEY_LENGTH = 1024;
/** Files one batch zip may hold: a 1,000-frame PNG sequence, ten times over. */
export const MAX_BATCH_FILES = 10_000;
/**
 * Bytes one batch zip may hold. The zip is written without zip64, whose sizes stop at 4 GiB;
 * half that leaves room for headers and keeps a download the browser holds in memory sane.
 */
export const MAX_BATCH_BYTES = 2 ** 31;
/** The largest batch request body: 10,000 keys of 100 characters. */
export const MAX_BATCH_REQUEST_BYTES = 1 << 20;

/** True when `key` could name a file under `exports/` (its form only; exportFile checks the disk). */
export function isExportKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_EXPORT_KEY_LENGTH) return false;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\\:\u0000-\u001f\u007f]/.test(key)) return false;
  // Every part a plain name: not empty (`a//b`, a leading `/`), not `.`/`..`, not hidden (temp files).
  return key.split('/').every((part) => part !== '' && !part.startsWith('.'));
}

/** The real path of the file `key` names under the home's `exports/`, or null (not there, not a file, or outside). */
export async function exportFile(home: string, key: string): Promise<string | null> {
  if (!isExportKey(key)) return null;
  const root = await realpath(exportsDir(home)).catch(() => null);
  if (!root) return null;
  const real = await realpath(join(root, ...key.split('/'))).catch(() => null);
  if (!real) return null;
  const rel = relative(root, real);
  if (rel === '' || isAbsolute(rel) || rel.split(sep)[0] === '..') return null; // a link that leads out
  return (await stat(real).catch(() => null))?.isFile() ? real : null;
}

const TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.zip': 'application/zip',
  '.json': 'application/json',
};

/** The Content-Type of an exported file, by its extension (exports are only ever these kinds). */
export const exportContentType = (name: string): string =>
  TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';

/**
 * `Content-Disposition` that saves the file as `name` (RFC 6266): `filename*` carries it whole in
 * UTF-8 (`Ærø.pdf`), `filename` an ASCII stand-in for clients that read only that.
 */
export function attachmentHeader(name: string): string {
  // Anything not printable ASCII becomes _.
  const ascii = name.replace(/[^\u0020-\u007e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The batch zip's file name: what the page asked for, made safe, or `plumage-exports.zip`. */
export function batchZipName(asked: unknown): string {
  const base =
    typeof asked === 'string'
      ? asked
          // eslint-disable-next-line no-control-regex -- a file name, not a path: no separators or control characters
          .replace(/[/\\:\u0000-\u001f\u007f]+/g, '-')
          .replace(/^[.\s-]+/, '')
          .slice(0, 120)
      : '';
  if (!base) return 'plumage-exports.zip';
  return base.toLowerCase().endsWith('.zip') ? base : `${base}.zip`;
}
