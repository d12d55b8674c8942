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
import { openUserFile, type UserFile } from '../util/user-file.js';
import { bfloatToFloat, halfToFloat } from './half.js';

export const CHECKSUM_KEY = 'plumage.sha256';
const BLANK_SUM = '0'.repeat(64);

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Produces the float32 data when it is its turn to be written. */
  data: () => Promise<Float32Array> | Float32Array;
}

/** A file whose content cannot be what it should be; the message names it and says why. */
export class CorruptCheckpointError extends Error {
  readonly code = 'invalid-input';
  constructor(
    readonly file: string,
    why: string,
    what = 'checkpoint',
  ) {
    super(`${file} is not a usable ${what}: ${why}`);
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

/** Bytes per element of each safetensors dtype (the format's list); only the float ones can be read. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
};
/** Headers above this are not ones Plumage or the reference write; refusing them bounds the read. */
export const MAX_HEADER_BYTES = 16 * 2 ** 20;

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsFile {
  readonly path: string;
  metadata: Record<string, string>;
  names: string[];
  shape(name: string): number[];
  /** float32 values of a tensor (F16 and BF16 are widened), read from the file by its range. */
  read(name: string): Promise<Float32Array>;
  /** Checks the Plumage checksum (streamed, a few MB at a time) when the file has one. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

const bytesText = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MB` : `${n} bytes`;

/**
 * Reads and checks the header of an open safetensors file: its length against the file's size,
 * every entry's dtype, shape and offsets against each other and against the data the file
 * holds, so nothing a header claims can make a reader allocate more than the file is.
 * `what` names the file in errors ("checkpoint", "generator file").
 */
export async function openSafetensors(f: UserFile, what = 'checkpoint'): Promise<SafetensorsFile> {
  const bad = (why: string): CorruptCheckpointError => new CorruptCheckpointError(f.path, why, what);
  /** A header that contradicts itself or the file: nothing to do with it but write or fetch it again. */
  const lies = (why: string): CorruptCheckpointError => bad(`${why}; write or download the file again`);
  if (f.size < 8) throw bad(`it is only ${f.size} bytes, too short to be a safetensors file`);
  const headerLen = Number((await f.read(0, 8)).readBigUInt64LE(0));
  if (headerLen < 2 || headerLen > MAX_HEADER_BYTES)
    throw bad(`its first 8 bytes give a header of ${headerLen} bytes, so it is not a safetensors file`);
  if (8 + headerLen > f.size)
    throw lies(`its header should be ${bytesText(headerLen)} but the file is ${bytesText(f.size)} (it is truncated)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse((await f.read(8, headerLen)).toString('utf8'));
  } catch {
    throw lies('its header is not valid JSON (it is damaged, or not a safetensors file)');
  }
  if (!isRecord(parsed)) throw lies('its header is not a JSON object');
  const header = parsed;
  const dataStart = 8 + headerLen;
  const dataBytes = f.size - dataStart;
  const rawMeta = header.__metadata__ ?? {};
  if (!isRecord(rawMeta) || Object.values(rawMeta).some((v) => typeof v !== 'string'))
    throw lies('its __metadata__ is not a map of strings');
  const metadata = { ...(rawMeta as Record<string, string>) };
  const entries = new Map<string, Entry>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const shown = JSON.stringify(name.slice(0, 200));
    if (!isRecord(e) || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets))
      throw lies(`tensor ${shown} has no dtype, shape and data_offsets`);
    const shape = e.shape as unknown[];
    if (!shape.every((d): d is number => Number.isSafeInteger(d) && (d as number) >= 0))
      throw lies(`tensor ${shown} has the shape ${JSON.stringify(shape).slice(0, 100)}, not a list of sizes`);
    const [a, b] = e.data_offsets as unknown[];
    if (e.data_offsets.length !== 2 || !Number.isSafeInteger(a) || !Number.isSafeInteger(b) || (a as number) < 0)
      throw lies(`tensor ${shown} has the data_offsets ${JSON.stringify(e.data_offsets).slice(0, 100)}`);
    const [start, end] = [a as number, b as number];
    if (end < start) throw lies(`tensor ${shown} ends (byte ${end}) before it starts (byte ${start})`);
    if (end > dataBytes)
      throw lies(
        `tensor ${shown} claims bytes ${start}–${end} of its data, but the file holds ${bytesText(dataBytes)} ` +
          'after its header (it is truncated or its header lies)',
      );
    const per = DTYPE_BYTES[e.dtype];
    const count = shape.reduce((x, y) => x * y, 1);
    if (per !== undefined && count * per !== end - start)
      throw lies(
        `tensor ${shown} is [${shape.join(', ')}] ${e.dtype} (${bytesText(count * per)}) but holds ` +
          `${bytesText(end - start)} (its header lies)`,
      );
    entries.set(name, { dtype: e.dtype, shape, data_offsets: [start, end] });
  }
  const entry = (name: string): Entry => {
    const e = entries.get(name);
    if (!e) throw bad(`it has no tensor ${name}`);
    return e;
  };
  return {
    path: f.path,
    metadata,
    names: [...entries.keys()],
    shape: (name) => entry(name).shape,
    read: async (name) => {
      const e = entry(name);
      const [a, b] = e.data_offsets;
      const count = e.shape.reduce((x, y) => x * y, 1);
      if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16')
        throw bad(`${name} is ${e.dtype}; only F32, F16 and BF16 tensors can be read`);
      const raw = await f.read(dataStart + a, b - a);
      const out = new Float32Array(count);
      if (e.dtype === 'F32') Buffer.from(out.buffer).set(raw);
      else
        for (let i = 0; i < count; i++)
          out[i] = e.dtype === 'F16' ? halfToFloat(raw.readUInt16LE(i * 2)) : bfloatToFloat(raw.readUInt16LE(i * 2));
      return out;
    },
    verify: async () => {
      const stored = metadata[CHECKSUM_KEY];
      if (stored === undefined) return;
      const blanked = { ...header, __metadata__: { ...metadata, [CHECKSUM_KEY]: BLANK_SUM } };
      const hash = createHash('sha256').update(canonical(blanked));
      const CHUNK = 8 << 20;
      for (let at = dataStart; at < f.size; at += CHUNK) hash.update(await f.read(at, Math.min(CHUNK, f.size - at)));
      if (hash.digest('hex') !== stored) throw bad('checksum mismatch (the file was damaged after it was written)');
    },
    close: () => f.close(),
  };
}

/** A safetensors file's metadata (its checksum verified when `requireChecksum`); the file is closed again. */
export async function safetensorsMetadata(
  file: string,
  opts: { requireChecksum: boolean },
): Promise<Record<string, string>> {
  const st = await readSafetensors(file, opts);
  await st.close();
  return st.metadata;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Opens a safetensors file and checks its header; with `requireChecksum`, the file must carry a
 * Plumage checksum and it is verified. The caller closes it.
 */
export async function readSafetensors(
  file: string,
  opts: { requireChecksum: boolean; what?: string },
): Promise<SafetensorsFile> {
  const what = opts.what ?? 'checkpoint';
  const f = await openUserFile(file, what);
  try {
    const st = await openSafetensors(f, what);
    if (opts.requireChecksum) {
      if (st.metadata[CHECKSUM_KEY] === undefined)
        throw new CorruptCheckpointError(f.path, 'it has no Plumage checksum', what);
      await st.verify();
    }
    return st;
  } catch (err) {
    await f.close();
    throw err;
  }
}
