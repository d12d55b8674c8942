/**
 * The entries of a zip-format `torch.save` blob, as places in it. torch writes them uncompressed
 * (stored), so that is all this reads; offsets and sizes are checked against the blob.
 */
import type { ByteSource } from './source.js';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_ENTRIES = 100_000;

export interface ZipEntry {
  at: number;
  length: number;
}

/** Entry name → where its (stored) data lies in the blob. */
export function readZip(src: ByteSource, fail: (why: string) => never): Map<string, ZipEntry> {
  const tailAt = Math.max(0, src.length - 22 - 0xffff);
  const tail = Buffer.from(src.view(tailAt, src.length - tailAt));
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) return fail('is a zip without its central directory (truncated?)');
  const count = tail.readUInt16LE(end + 10);
  let at = tail.readUInt32LE(end + 16);
  if (count === 0xffff || at === 0xffffffff) return fail('is a zip64 archive, which storages never need');
  if (count > MAX_ENTRIES) return fail(`is a zip of ${count} entries`);
  const dirSize = tail.readUInt32LE(end + 12);
  if (at + dirSize > src.length) return fail('has a damaged zip directory');
  const blob = Buffer.from(src.view(at, dirSize)); // the central directory
  const base = at;
  at = 0;
  const out = new Map<string, ZipEntry>();
  for (let n = 0; n < count; n++) {
    if (at + 46 > blob.length || blob.readUInt32LE(at) !== CENTRAL) return fail('has a damaged zip directory');
    const method = blob.readUInt16LE(at + 10);
    const size = blob.readUInt32LE(at + 20);
    const nameLen = blob.readUInt16LE(at + 28);
    const extraLen = blob.readUInt16LE(at + 30);
    const commentLen = blob.readUInt16LE(at + 32);
    const local = blob.readUInt32LE(at + 42);
    const name = blob.toString('utf8', at + 46, at + 46 + nameLen);
    at += 46 + nameLen + extraLen + commentLen;
    if (method !== 0) return fail(`has a compressed zip entry ${name}`);
    if (local + 30 > base) return fail(`has a damaged zip entry ${name}`);
    const head = src.view(local, 30);
    if (head.readUInt32LE(0) !== LOCAL) return fail(`has a damaged zip entry ${name}`);
    const start = local + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
    if (start + size > base) return fail(`has a zip entry ${name} past its end`);
    out.set(name, { at: start, length: size });
  }
  return out;
}
