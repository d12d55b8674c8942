/**
 * Recognises images by their first bytes, not their names: `scan0042` with no extension is an
 * image, `notes.txt` is quietly not, and text renamed `.jpg` is reported as "not an image".
 */

import { looksLikeBmp } from './bmp.js';
import { isJ2k, isJp2 } from './jpeg2000.js';
import { looksLikePnm } from './pnm.js';

export type ImageKind =
  'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'avif' | 'heif' | 'svg' | 'bmp' | 'jxl' | 'pnm' | 'jp2' | 'j2k';

/** Bytes needed to decide. */
export const SNIFF_BYTES = 512;

/** Extensions a user expects to be treated as images (used only to decide whether to complain). */
const IMAGE_EXTENSIONS = new Set([
  'jpg',
  'jpeg',
  'jpe',
  'jfif',
  'png',
  'gif',
  'webp',
  'tif',
  'tiff',
  'avif',
  'heic',
  'heif',
  'svg',
  'bmp',
  'dib',
  'jxl',
  'pbm',
  'pgm',
  'ppm',
  'pnm',
  'pam',
  'jp2',
  'j2k',
  'j2c',
  'jpc',
  'jpx',
  'jpf',
]);

export function hasImageExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.has(name.slice(dot + 1).toLowerCase());
}

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);

const ascii = (b: Uint8Array, from: number, to: number): string =>
  String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));

export function sniffImage(head: Uint8Array): ImageKind | null {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(head, [0x49, 0x49, 0x2b, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff'; // BigTIFF
  if (ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand)) return 'heif';
  }
  if (startsWith(head, [0xff, 0x0a]) || startsWith(head, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'jxl';
  if (isJp2(head)) return 'jp2';
  if (isJ2k(head)) return 'j2k';
  if (looksLikeBmp(head)) return 'bmp';
  if (looksLikePnm(head)) return 'pnm';
  if (looksLikeSvg(head)) return 'svg';
  return null;
}

function looksLikeSvg(head: Uint8Array): boolean {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).trimStart().toLowerCase();
  if (!text.startsWith('<')) return false;
  return /<svg[\s>]/.test(text);
}

/** A short description of what non-image content looks like, for rejection reasons. */
export function describeNonImage(head: Uint8Array): string {
  if (head.length === 0) return 'empty file (0 bytes)';
  const sample = head.subarray(0, Math.min(head.length, 256));
  let printable = 0;
  for (const c of sample) if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 0xc2) printable++;
  if (printable / sample.length > 0.95) return 'not an image (the file holds text)';
  if (ascii(head, 0, 4) === '%PDF') return 'not an image (the file is a PDF)';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return 'not an image (the file is a zip archive)';
  return 'not an image (unrecognised content)';
}
