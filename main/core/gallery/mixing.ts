/**
 * Style mixing: which synthesis inputs (ws) take the second seed's w. As in the StyleGAN paper,
 * ws[i] belongs to resolution 4·2^⌊i/2⌋: coarse = 4–8² (ws 0–3), middle = 16–32² (ws 4–7),
 * fine = 64² and up. A range is stored as "lo-hi" in resolutions, e.g. "4-8".
 */
import { numWs } from '../gan/config.js';

export const MIX_PRESETS = ['coarse', 'middle', 'fine'] as const;
export type MixPreset = (typeof MIX_PRESETS)[number];

export class MixRangeError extends Error {
  readonly code = 'invalid-input';
}

/** The stored range for a preset name or a "lo-hi" range, checked against the generator's resolution. */
export function mixRange(spec: string, resolution: number): string {
  const fine = resolution >= 64 ? `64-${resolution}` : null;
  const preset: Record<MixPreset, string | null> = { coarse: '4-8', middle: '16-32', fine };
  const named = (preset as Record<string, string | null | undefined>)[spec];
  if (named === null) throw new MixRangeError(`a ${resolution}² generator has no fine layers (64² and up)`);
  const range = named ?? spec;
  const m = /^(\d+)-(\d+)$/.exec(range);
  if (!m)
    throw new MixRangeError(`layers must be coarse, middle, fine or a range like 4-8, got ${JSON.stringify(spec)}`);
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  const pow2 = (n: number) => n >= 4 && (n & (n - 1)) === 0;
  if (!pow2(lo) || !pow2(hi))
    throw new MixRangeError(`layer range ${range}: both ends must be resolutions (4, 8, 16, …)`);
  if (lo > hi) throw new MixRangeError(`layer range ${range}: the first resolution is above the last`);
  if (hi > resolution) throw new MixRangeError(`layer range ${range} goes past this generator's ${resolution}²`);
  if (lo === 4 && hi === resolution)
    throw new MixRangeError(`layer range ${range} covers every layer: that is simply the second bird`);
  return `${lo}-${hi}`;
}

/** Indices into ws [numWs] that a stored range covers. */
export function mixIndices(range: string, resolution: number): number[] {
  const [lo, hi] = range.split('-').map(Number) as [number, number];
  const out: number[] = [];
  for (let i = 0; i < numWs(resolution); i++) {
    const res = 4 * 2 ** Math.floor(i / 2);
    if (res >= lo && res <= hi) out.push(i);
  }
  return out;
}
