/**
 * Pickles written by the tests themselves (hostile ones, damaged ones), with a small encoder for
 * a JSON-like description, and the fixtures' expected tensors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './paths.js';

export const PICKLES = join(FIXTURES, 'pickles');

export type V =
  | null
  | boolean
  | number
  | string
  | Buffer
  | { tuple: V[] }
  | { list: V[] }
  | { dict: [V, V][] }
  | { call: string; args: V[] } // "module.name" called with args (REDUCE)
  | { global: string }
  | { pid: V };

function global(q: string): Buffer {
  const at = q.lastIndexOf('.');
  return Buffer.from(`c${q.slice(0, at)}\n${q.slice(at + 1)}\n`, 'latin1');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** The opcodes of one value (no memo: every value written out). */
export function encode(v: V): Buffer {
  if (v === null) return Buffer.from([0x4e]);
  if (v === true) return Buffer.from([0x88]);
  if (v === false) return Buffer.from([0x89]);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = 0x4a;
      b.writeInt32LE(v, 1);
      return b;
    }
    if (Number.isInteger(v)) {
      const b = Buffer.alloc(10);
      b[0] = 0x8a;
      b[1] = 8;
      b.writeBigInt64LE(BigInt(v), 2);
      return b;
    }
    const b = Buffer.alloc(9);
    b[0] = 0x47;
    b.writeDoubleBE(v, 1);
    return b;
  }
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    return Buffer.concat([Buffer.from([0x58]), u32(s.length), s]);
  }
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from([0x42]), u32(v.length), v]);
  if ('tuple' in v) return Buffer.concat([Buffer.from([0x28]), ...v.tuple.map(encode), Buffer.from([0x74])]);
  if ('list' in v) return Buffer.concat([Buffer.from([0x5d, 0x28]), ...v.list.map(encode), Buffer.from([0x65])]);
  if ('dict' in v)
    return Buffer.concat([
      Buffer.from([0x7d, 0x28]),
      ...v.dict.flatMap(([k, x]) => [encode(k), encode(x)]),
      Buffer.from([0x75]),
    ]);
  if ('global' in v) return global(v.global);
  if ('pid' in v) return Buffer.concat([encode(v.pid), Buffer.from([0x51])]);
  return Buffer.concat([global(v.call), encode({ tuple: v.args }), Buffer.from([0x52])]);
}

/** A whole pickle: PROTO, the value, STOP. */
export const pickle = (v: V, protocol = 4): Buffer =>
  Buffer.concat([Buffer.from([0x80, protocol]), encode(v), Buffer.from([0x2e])]);

const LEGACY_MAGIC = Buffer.from([
  0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
]);

/** A legacy `torch.save` of one FloatStorage declaring `numel` elements, holding `data`. */
export function legacyStorage(numel: number, data: Float32Array, declaredCount = numel): Buffer {
  const count = Buffer.alloc(8);
  count.writeBigInt64LE(BigInt(declaredCount));
  return Buffer.concat([
    LEGACY_MAGIC,
    pickle(1001, 2),
    pickle({ dict: [['little_endian', true]] }, 2),
    pickle({ pid: { tuple: ['storage', { global: 'torch.FloatStorage' }, 'k0', 'cpu', numel, null] } }, 2),
    pickle({ list: ['k0'] }, 2),
    count,
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

/** `_rebuild_tensor_v2(_load_from_bytes(blob), 0, shape, stride, False, OrderedDict())` */
export function tensor(blob: Buffer, shape: number[]): V {
  const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return {
    call: 'torch._utils._rebuild_tensor_v2',
    args: [
      { call: 'torch.storage._load_from_bytes', args: [blob] },
      0,
      { tuple: shape },
      { tuple: stride },
      false,
      { call: 'collections.OrderedDict', args: [] },
    ],
  };
}

/** A persistent network object as stylegan2-ada-pytorch pickles one. */
export function persistent(className: string, state: [V, V][]): V {
  return {
    call: 'torch_utils.persistence._reconstruct_persistent_obj',
    args: [
      {
        dict: [
          ['type', 'class'],
          ['version', 6],
          ['module_src', '# placeholder'],
          ['class_name', className],
          ['state', { dict: state }],
        ],
      },
    ],
  };
}

/** The fixtures' tensors by state_dict name, as the script that wrote them saw them. */
export function expectedTensors(): Map<string, { shape: number[]; data: Float32Array }> {
  const meta = JSON.parse(readFileSync(join(PICKLES, 'expected-tensors.json'), 'utf8')) as {
    tensors: Record<string, { shape: number[]; offset: number }>;
  };
  const bin = readFileSync(join(PICKLES, 'expected-tensors.bin'));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(meta.tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    Buffer.from(data.buffer).set(bin.subarray(t.offset, t.offset + n * 4));
    out.set(name, { shape: t.shape, data });
  }
  return out;
}
