/**
 * The seam between "a user's generator file" and the pickle reader: whether a file is a network
 * pickle (by its first bytes, never its name), and its resolution without reading it twice.
 * Whoever opens generator files (the gallery's header check, loadGenerator) asks here first.
 */
import { open, stat } from 'node:fs/promises';
import { looksLikePickle, readNetworkPickle, type NetworkPickle } from './pickle/index.js';

export async function isNetworkPickle(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return false; // the caller's own open reports what is wrong
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await fh.read(head, 0, 16, 0);
    return looksLikePickle(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/**
 * What the gallery needs of a pickle before drawing (its resolution), kept per path, size and
 * mtime: reading a 350 MB pickle for every page would cost a second each.
 */
const known = new Map<string, { key: string; resolution: number }>();
const KNOWN_MAX = 16;

export async function pickleResolution(file: string): Promise<number> {
  const st = await stat(file);
  const key = `${st.size}\0${st.mtimeMs}`;
  const hit = known.get(file);
  if (hit?.key === key) return hit.resolution;
  const p = await readNetworkPickle(file);
  remember(file, key, p);
  return p.config.resolution;
}

function remember(file: string, key: string, p: NetworkPickle): void {
  known.delete(file);
  if (known.size >= KNOWN_MAX) known.delete(known.keys().next().value!);
  known.set(file, { key, resolution: p.config.resolution });
}
