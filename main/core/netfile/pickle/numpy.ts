/**
 * numpy values in a pickle: arrays (`_reconstruct(ndarray, (0,), b'b')` then BUILD with
 * `(version, shape, dtype, is_fortran, raw)`, or protocol 5's `_frombuffer(raw, dtype, shape,
 * order)`) and scalars (`scalar(dtype, raw)`), with dtypes as `dtype('f4', False, True)` plus a
 * BUILD state whose second item is the byte order.
 */
import { elementReader } from './torch.js';
import type { StorageDtype } from './globals.js';
import { ELEMENT_BYTES } from './globals.js';
import { FileRange, type Bytes } from './source.js';
import { PyCall, PyTuple, describe, type PyValue } from './values.js';

export interface NdArray {
  dtype: StorageDtype;
  shape: number[];
  data: Bytes;
  fortran: boolean;
}

const DTYPES: Record<string, StorageDtype> = {
  f4: 'float32',
  f2: 'float16',
  f8: 'float64',
  i8: 'int64',
  i4: 'int32',
  i2: 'int16',
  i1: 'int8',
  u1: 'uint8',
  b1: 'bool',
};

const isCall = (v: PyValue | undefined, ...names: string[]): v is PyCall =>
  v instanceof PyCall && names.some((n) => v.fn.qualified === n || v.fn.qualified === n.replace('.core.', '._core.'));

/** A numpy dtype record, or null when it is not one Plumage reads (or is big-endian). */
function dtypeOf(v: PyValue | undefined): StorageDtype | null {
  if (!isCall(v, 'numpy.dtype') || typeof v.args[0] !== 'string') return null;
  const order = v.state instanceof PyTuple ? v.state.items[1] : '<';
  if (order === '>') return null;
  return DTYPES[v.args[0]] ?? null;
}

/** The array a value records, or null; `why` receives the reason when it looks like one but is not usable. */
export function ndarrayOf(v: PyValue | undefined, why: (reason: string) => never): NdArray | null {
  if (isCall(v, 'numpy.core.multiarray._reconstruct')) {
    const st = v.state;
    if (!(st instanceof PyTuple) || st.items.length < 5) return why('a numpy array without its state');
    const [, shape, dtype, fortran, raw] = st.items;
    return checked(shape, dtypeOf(dtype), fortran === true, raw, why);
  }
  if (isCall(v, 'numpy.core.numeric._frombuffer')) {
    const [raw, dtype, shape, order] = v.args;
    return checked(shape, dtypeOf(dtype), order === 'F', raw, why);
  }
  return null;
}

function checked(
  shape: PyValue | undefined,
  dtype: StorageDtype | null,
  fortran: boolean,
  raw: PyValue | undefined,
  why: (reason: string) => never,
): NdArray {
  if (!dtype) return why('a numpy array of a type Plumage does not read');
  if (!(shape instanceof PyTuple) || !shape.items.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0))
    return why('a numpy array with a malformed shape');
  const dims = shape.items as number[];
  const bytes = dims.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[dtype];
  if (!(Buffer.isBuffer(raw) || raw instanceof FileRange) || raw.length !== bytes)
    return why(`a numpy array of shape [${dims}] with ${describe(raw)} for ${bytes} bytes`);
  return { dtype, shape: dims, data: raw, fortran };
}

/** A numpy scalar's value (`numpy.float64(0.5)` kept as an attribute), or null. */
export function numpyScalar(v: PyValue | undefined): number | null {
  if (!isCall(v, 'numpy.core.multiarray.scalar')) return null;
  const dtype = dtypeOf(v.args[0]);
  const raw = v.args[1];
  if (!dtype || !Buffer.isBuffer(raw) || raw.length !== ELEMENT_BYTES[dtype]) return null;
  return elementReader(dtype, raw)(0);
}

/** An array's values as float32 in C order. */
export function readArray(a: NdArray): Float32Array {
  const count = a.shape.reduce((x, y) => x * y, 1);
  const out = new Float32Array(count);
  if ((!a.fortran || a.shape.length < 2) && a.dtype === 'float32') {
    if (a.data instanceof FileRange) a.data.readInto(new Uint8Array(out.buffer));
    else new Uint8Array(out.buffer).set(a.data);
    return out;
  }
  const get = elementReader(a.dtype, a.data instanceof FileRange ? a.data.read() : a.data);
  if (!a.fortran || a.shape.length < 2) {
    for (let i = 0; i < count; i++) out[i] = get(i);
    return out;
  }
  // Fortran order: the first index varies fastest in the data
  const idx = new Array<number>(a.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let at = 0;
    for (let d = a.shape.length - 1; d >= 0; d--) at = at * a.shape[d]! + idx[d]!;
    out[i] = get(at);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < a.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}
