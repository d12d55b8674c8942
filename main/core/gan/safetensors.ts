/**
 * safetensors files, written and read tensor by tensor (a 1024² checkpoint is over a gigabyte):
 * 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, …,
 * "__metadata__": {string: string}}, then the raw little-endian data.
 *
 * Integrity: the header carries `plumage.sha256`, the SHA-256 of the canonical header (keys
 * sorted, that field blank) followed by the data. The field is reserved at a fixed width before
 * the data is streamed and filled in place afterwards. Writes are atomic: temp file, fsync,
 * rename, fsync of the folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFully } from '../util/atomic.js';

export const CHECKSUM_KEY = 'plumage.sha256';
const BLANK_SUM = '0'.repeat(64);

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Produces the float32 data when it is its turn to be written. */
  data: () => Promise<Float32Array> | Float32Array;
}

export class CorruptCheckpointError extends Error {
  constructor(file: string, why: string) {
    super(`${file} is not a usable checkpoint: ${why}`);
    this.name = 'CorruptCheckpointError';
  }
}

/** JSON with object keys sorted at every level: the same bytes for the same content. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

type Header = Record<
  string,
  { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
>;

export async function writeSafetensors(
  file: string,
  tensors: TensorEntry[],
  metadata: Record<string, string>,
): Promise<{ bytes: number; sha256: string }> {
  const header: Header = {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 4;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  header.__metadata__ = { ...metadata, [CHECKSUM_KEY]: BLANK_SUM };
  const hash = createHash('sha256').update(canonical(header));
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align the data to 8 bytes, as safetensors writers do
  const headerBytes = Buffer.from(json, 'utf8');
  const sumAt = 8 + headerBytes.indexOf(Buffer.from(`"${CHECKSUM_KEY}":"${BLANK_SUM}"`)) + CHECKSUM_KEY.length + 4;

  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerBytes.length));
    await writeFully(fh, len);
    await writeFully(fh, headerBytes);
    for (const t of tensors) {
      const data = await t.data();
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== expected) throw new Error(`${t.name}: ${data.length} values for shape [${t.shape}]`);
      // little-endian on every platform Node runs on
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      hash.update(bytes);
      await writeFully(fh, bytes);
    }
    const sum = hash.digest('hex');
    await writeFully(fh, Buffer.from(sum, 'ascii'), sumAt);
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
    const dir = await open(dirname(file), 'r');
    await dir.sync().catch(() => {}); // make the rename itself durable (not supported everywhere)
    await dir.close();
    return { bytes: 8 + headerBytes.length + offset, sha256: sum };
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  names: string[];
  shape(name: string): number[];
  /** float32 values of a tensor (F16 and BF16 are widened). */
  read(name: string): Float32Array;
}

/** Reads a whole safetensors file; verifies the Plumage checksum when the file has one. */
export async function readSafetensors(file: string, opts: { requireChecksum: boolean }): Promise<SafetensorsFile> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot open checkpoint ${file}: ${err.code ?? err.message}`);
  });
  let buf: Buffer;
  try {
    buf = await fh.readFile();
  } finally {
    await fh.close();
  }
  if (buf.length < 8) throw new CorruptCheckpointError(file, `only ${buf.length} bytes`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length) throw new CorruptCheckpointError(file, 'truncated header');
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Header;
  } catch {
    throw new CorruptCheckpointError(file, 'the header is not valid JSON');
  }
  const metadata = { ...((header.__metadata__ ?? {}) as Record<string, string>) };
  const data = buf.subarray(8 + headerLen);
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] },
  ][];
  const end = Math.max(0, ...entries.map(([, e]) => e.data_offsets[1]));
  if (end > data.length)
    throw new CorruptCheckpointError(file, `truncated: the data should be ${end} bytes, found ${data.length}`);

  const stored = metadata[CHECKSUM_KEY];
  if (stored !== undefined) {
    const blanked = { ...header, __metadata__: { ...metadata, [CHECKSUM_KEY]: BLANK_SUM } };
    const actual = createHash('sha256').update(canonical(blanked)).update(data).digest('hex');
    if (actual !== stored)
      throw new CorruptCheckpointError(file, 'checksum mismatch (the file was damaged after it was written)');
  } else if (opts.requireChecksum) {
    throw new CorruptCheckpointError(file, 'it has no Plumage checksum');
  }
  const byName = new Map(entries);
  return {
    metadata,
    names: entries.map(([k]) => k),
    shape: (name) => {
      const e = byName.get(name);
      if (!e) throw new CorruptCheckpointError(file, `missing tensor ${name}`);
      return e.shape;
    },
    read: (name) => {
      const e = byName.get(name);
      if (!e) throw new CorruptCheckpointError(file, `missing tensor ${name}`);
      const [a, b] = e.data_offsets;
      const count = e.shape.reduce((x, y) => x * y, 1);
      const raw = data.subarray(a, b);
      if (e.dtype === 'F32') {
        if (raw.length !== count * 4)
          throw new CorruptCheckpointError(file, `${name} has ${raw.length} bytes for shape [${e.shape}]`);
        const out = new Float32Array(count);
        Buffer.from(out.buffer).set(raw);
        return out;
      }
      if (e.dtype === 'F16' || e.dtype === 'BF16') {
        if (raw.length !== count * 2)
          throw new CorruptCheckpointError(file, `${name} has ${raw.length} bytes for shape [${e.shape}]`);
        const out = new Float32Array(count);
        for (let i = 0; i < count; i++)
          out[i] = e.dtype === 'F16' ? halfToFloat(raw.readUInt16LE(i * 2)) : bfloatToFloat(raw.readUInt16LE(i * 2));
        return out;
      }
      throw new CorruptCheckpointError(file, `${name} has unsupported dtype ${e.dtype}`);
    },
  };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function bfloatToFloat(b: number): number {
  const u = new Uint32Array([b << 16]);
  return new Float32Array(u.buffer)[0]!;
}
