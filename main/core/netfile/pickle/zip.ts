/**
 * The entries of a zip-format `torch.save` blob, as views. torch writes them uncompressed
 * (stored), so that is all this reads; offsets and sizes are checked against the blob.
 */
const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_ENTRIES = 100_000;

export function readZip(blob: Buffer, fail: (why: string) => never): Map<string, Buffer> {
  let end = -1;
  for (let i = blob.length - 22; i >= Math.max(0, blob.length - 22 - 0xffff); i--) {
    if (blob.readUInt32LE(i) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) return fail('is a zip without its central directory (truncated?)');
  const count = blob.readUInt16LE(end + 10);
  let at = blob.readUInt32LE(end + 16);
  if (count === 0xffff || at === 0xffffffff) return fail('is a zip64 archive, which storages never need');
  if (count > MAX_ENTRIES) return fail(`is a zip of ${count} entries`);
  const out = new Map<string, Buffer>();
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
    if (local + 30 > blob.length || blob.readUInt32LE(local) !== LOCAL) return fail(`has a damaged zip entry ${name}`);
    const start = local + 30 + blob.readUInt16LE(local + 26) + blob.readUInt16LE(local + 28);
    if (start + size > blob.length) return fail(`has a zip entry ${name} past its end`);
    out.set(name, blob.subarray(start, start + size));
  }
  return out;
}
