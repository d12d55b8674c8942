/**
 * Paths between latents: linear in W, spherical in Z (z is Gaussian, so its norm concentrates
 * near √dim; a straight line through the middle would pass through improbable short vectors).
 * Arithmetic in float64, stored as float32 like every latent.
 */

/** a + t·(b − a). */
export function lerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  sameLength(a, b);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + t * (b[i]! - a[i]!);
  return out;
}

/**
 * Spherical interpolation: sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, Ω the angle between a and b.
 * Nearly parallel vectors (sin Ω ≈ 0) fall back to lerp, where the two agree.
 */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  sameLength(a, b);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 || nb === 0) return lerp(a, b, t);
  const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb)));
  const omega = Math.acos(cos);
  const sin = Math.sin(omega);
  if (sin < 1e-6) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / sin;
  const wb = Math.sin(t * omega) / sin;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i]! + wb * b[i]!;
  return out;
}

/**
 * Where each of `frames` frames lies on a path through `keys` key frames: the segment it is on
 * and t within it. The first frame is key 0 and the last is the last key, exactly.
 */
export function framePositions(keys: number, frames: number): { segment: number; t: number }[] {
  if (!Number.isInteger(keys) || keys < 2) throw new RangeError('an interpolation needs at least two key frames');
  if (!Number.isInteger(frames) || frames < keys) throw new RangeError(`need at least ${keys} frames for ${keys} keys`);
  const out: { segment: number; t: number }[] = [];
  for (let i = 0; i < frames; i++) {
    const u = (i / (frames - 1)) * (keys - 1);
    const segment = Math.min(Math.floor(u), keys - 2);
    out.push({ segment, t: u - segment });
  }
  return out;
}

function sameLength(a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new RangeError(`latents differ in length: ${a.length} and ${b.length}`);
}
