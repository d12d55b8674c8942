/**
 * 16-bit floats as a network file stores them (IEEE half, bfloat16), read into numbers: one
 * place for the safetensors reader and the PyTorch pickle's storages.
 */

/** IEEE 754 half precision (subnormals, ±Infinity and NaN as they are). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** bfloat16: the top half of a float32. */
export function bfloatToFloat(b: number): number {
  const u = new Uint32Array([b << 16]);
  return new Float32Array(u.buffer)[0]!;
}
