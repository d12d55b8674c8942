/**
 * PyTorch's tensors inside a `pickle.dump`: `_rebuild_tensor_v2(storage, offset, size, stride, …)`
 * (wrapped in `_rebuild_parameter` for parameters), each storage reduced to
 * `torch.storage._load_from_bytes(blob)` where the blob is a `torch.save` of that storage — the
 * legacy stream (magic, protocol 1001, sys_info, the storage as a persistent id, its keys, then
 * per key an int64 count and raw little-endian data) or, from some torch versions, a zip archive
 * (`<name>/data.pkl` and `<name>/data/<key>`). Sizes are checked against the bytes present before
 * anything is allocated; data stay views of the file until a tensor is read.
 */
import { NetworkFileError } from './errors.js';
import { ELEMENT_BYTES, TORCH_STORAGES, type StorageDtype } from './globals.js';
import { unpickle, type Limits } from './unpickler.js';
import { readZip } from './zip.js';
import { FileRange, sourceOf, type ByteSource, type Bytes } from './source.js';
import { PyCall, PyDict, PyGlobal, PyList, PyPersistent, PyTuple, type PyValue } from './values.js';
import { bfloatToFloat, halfToFloat } from '../half.js';

export interface Storage {
  dtype: StorageDtype;
  numel: number;
  /** Exactly numel × element-size bytes (large ones still in the file). */
  data: Bytes;
}

export interface TensorRef {
  storage: Storage;
  offset: number;
  shape: number[];
  stride: number[];
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

interface StorageId {
  dtype: StorageDtype;
  key: string;
  numel: number;
}

/** ('storage', torch.FloatStorage, key, location, numel[, view_metadata]) */
function storageId(pid: PyValue, fail: (why: string) => never): StorageId {
  if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage')
    return fail('holds a torch object that is not a storage');
  const [, type, key, , numel, view] = pid.items;
  if (!(type instanceof PyGlobal) || !(type.name in TORCH_STORAGES)) return fail('holds a storage of an unknown type');
  if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0)
    return fail('holds a storage with a malformed id');
  if (view !== undefined && view !== null) return fail('holds a storage view, which network files never contain');
  return { dtype: TORCH_STORAGES[type.name]!, key, numel };
}

/** Where a parse happens: the file (for messages) and its descriptor while it is open. */
export interface ParseContext {
  file: string;
  fd: number | null;
  limits?: Partial<Limits>;
  lazyBytes?: number;
}

/** Parses `_load_from_bytes`' blob into its one storage. */
export function loadFromBytes(bytes: Bytes, ctx: ParseContext): Storage {
  const { file, limits } = ctx;
  const fail = (why: string): never => {
    throw new NetworkFileError(file, `is damaged or not a network pickle: a tensor storage ${why}`);
  };
  const blob = sourceOf(bytes, ctx.fd, ctx.lazyBytes);
  if (blob.length >= 4 && blob.view(0, 4).readUInt32LE(0) === 0x04034b50) return loadZip(blob, file, fail, limits);
  const opts = { file, ...(limits ? { limits } : {}) };
  let at = 0;
  const next = (persistentLoad?: (pid: PyValue) => unknown): PyValue => {
    const r = unpickle(blob, at, { ...opts, ...(persistentLoad ? { persistentLoad } : {}) });
    at = r.end;
    return r.value;
  };
  if (next() !== LEGACY_MAGIC) return fail('is not a torch.save stream');
  if (next() !== LEGACY_PROTOCOL) return fail('uses an unknown torch.save protocol');
  const sysInfo = next();
  if (sysInfo instanceof PyDict && sysInfo.get('little_endian') === false) return fail('is big-endian');
  const ids = new Map<string, StorageId>();
  const root = next((pid) => {
    const id = storageId(pid, fail);
    ids.set(id.key, id);
    return id;
  });
  const keys = next();
  if (!(root instanceof PyPersistent) || !(keys instanceof PyList)) return fail('is not a single storage');
  const found = new Map<string, Storage>();
  for (const key of keys.items) {
    const id = typeof key === 'string' ? ids.get(key) : undefined;
    if (!id) return fail(`lists an unknown key`);
    if (at + 8 > blob.length) return fail('is truncated');
    const count = blob.view(at, 8).readBigInt64LE(0);
    at += 8;
    const bytes = BigInt(id.numel) * BigInt(ELEMENT_BYTES[id.dtype]);
    if (count !== BigInt(id.numel) || bytes > BigInt(blob.length - at))
      return fail(`declares ${count} elements (${bytes} bytes) where ${blob.length - at} bytes remain`);
    found.set(id.key, { dtype: id.dtype, numel: id.numel, data: blob.payload(at, Number(bytes)) });
    at += Number(bytes);
  }
  const storage = found.get((root.value as StorageId).key);
  return storage ?? fail('has no data');
}

function loadZip(blob: ByteSource, file: string, fail: (why: string) => never, limits?: Partial<Limits>): Storage {
  const entries = readZip(blob, fail);
  const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) return fail('is a zip without data.pkl');
  const dir = pkl.slice(0, -'data.pkl'.length);
  const pklBytes = entries.get(pkl)!;
  const root = unpickle(blob.slice(pklBytes.at, pklBytes.length), 0, {
    file,
    ...(limits ? { limits } : {}),
    persistentLoad: (pid) => {
      const id = storageId(pid, fail);
      const data = entries.get(`${dir}data/${id.key}`);
      const bytes = id.numel * ELEMENT_BYTES[id.dtype];
      if (!data || data.length < bytes)
        return fail(`declares ${id.numel} elements (${bytes} bytes) where ${data?.length ?? 0} bytes are stored`);
      return { dtype: id.dtype, numel: id.numel, data: blob.payload(data.at, bytes) } satisfies Storage;
    },
  }).value;
  if (!(root instanceof PyPersistent)) return fail('is not a single storage');
  return root.value as Storage;
}

const storages = new WeakMap<PyCall, Storage>();

/**
 * The tensor a value records (a parameter, a buffer), or null for anything else. Shared
 * storages are parsed once.
 */
export function tensorOf(v: PyValue | undefined, ctx: ParseContext): TensorRef | null {
  const file = ctx.file;
  if (!(v instanceof PyCall)) return null;
  const fn = v.fn.qualified;
  if (fn === 'torch._utils._rebuild_parameter' || fn === 'torch._utils._rebuild_parameter_with_state')
    return tensorOf(v.args[0], ctx);
  if (fn !== 'torch._utils._rebuild_tensor_v2' && fn !== 'torch._utils._rebuild_tensor') return null;
  const fail = (why: string): never => {
    throw new NetworkFileError(file, `is damaged or not a network pickle: a tensor ${why}`);
  };
  const [s, offset, size, stride] = v.args;
  const blob = s instanceof PyCall ? s.args[0] : undefined;
  if (
    !(s instanceof PyCall) ||
    s.fn.qualified !== 'torch.storage._load_from_bytes' ||
    !(Buffer.isBuffer(blob) || blob instanceof FileRange)
  )
    return fail('is not over a storage');
  let storage = storages.get(s);
  if (!storage) {
    storage = loadFromBytes(blob, ctx);
    storages.set(s, storage);
  }
  const ints = (t: PyValue | undefined): number[] | null =>
    t instanceof PyTuple && t.items.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)
      ? (t.items as number[])
      : null;
  const shape = ints(size);
  const strides = ints(stride);
  if (!shape || !strides || shape.length !== strides.length || typeof offset !== 'number' || offset < 0)
    return fail('has a malformed size or stride');
  const count = shape.reduce((a, b) => a * b, 1);
  const last = count === 0 ? offset : offset + shape.reduce((a, n, i) => a + (n - 1) * strides[i]!, 0);
  if (count > storage.numel || last >= Math.max(storage.numel, 1))
    return fail(`of shape [${shape}] does not fit its storage of ${storage.numel} elements`);
  return { storage, offset, shape, stride: strides };
}

/** A tensor's values as float32, in C order: contiguous float32 data is read from the file straight into it. */
export function readTensor(t: TensorRef): Float32Array {
  const count = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  const { dtype } = t.storage;
  const contiguous = t.shape.every((_, i) => t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous && dtype === 'float32') {
    const into = new Uint8Array(out.buffer);
    if (t.storage.data instanceof FileRange) t.storage.data.readInto(into, t.offset * 4, count * 4);
    else into.set(t.storage.data.subarray(t.offset * 4, (t.offset + count) * 4));
    return out;
  }
  const data = t.storage.data instanceof FileRange ? t.storage.data.read() : t.storage.data;
  const get = elementReader(dtype, data);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let at = t.offset;
    for (let d = 0; d < idx.length; d++) at += idx[d]! * t.stride[d]!;
    out[i] = get(at);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

export function elementReader(dtype: StorageDtype, data: Buffer): (i: number) => number {
  switch (dtype) {
    case 'float32':
      return (i) => data.readFloatLE(i * 4);
    case 'float64':
      return (i) => data.readDoubleLE(i * 8);
    case 'float16':
      return (i) => halfToFloat(data.readUInt16LE(i * 2));
    case 'bfloat16':
      return (i) => bfloatToFloat(data.readUInt16LE(i * 2));
    case 'int64':
      return (i) => Number(data.readBigInt64LE(i * 8));
    case 'int32':
      return (i) => data.readInt32LE(i * 4);
    case 'int16':
      return (i) => data.readInt16LE(i * 2);
    case 'int8':
      return (i) => data.readInt8(i);
    case 'uint8':
    case 'bool':
      return (i) => data[i]!;
  }
}
