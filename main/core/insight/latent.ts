/**
 * A projected bird's latent as written beside its image: the per-layer w's and the noise maps,
 * everything needed to draw it again from its generator (insight/project.ts). A favourite that
 * holds a latent keeps a copy of this file in the home (gallery/favourite-birds.ts); everything
 * that draws it reads it through `readLatent`, which checks it against the generator first.
 */
import { blockResolutions, numWs, type GanConfig } from '../gan/config.js';
import { withUserFile } from '../util/user-file.js';

export const LATENT_FORMAT = 'plumage-latent/1';

export interface LatentFile {
  format: typeof LATENT_FORMAT;
  /** The generator file it was projected into. */
  generator: string;
  resolution: number;
  wDim: number;
  /** One w per synthesis input (W+) rather than one for all. */
  wPlus: boolean;
  /** [numWs × wDim], row-major (one row of wDim values is taken as that w on every layer). */
  ws: number[];
  /** Noise maps in the order the synthesis network asks for them (empty: the bird's noise is not its own). */
  noise: { res: number; values: number[] }[];
  steps: number;
  distance: number;
  psnr: number;
}

/** A latent ready to draw: ws [numWs × wDim], and its noise maps (res² values each, in order) or null. */
export interface Latent {
  ws: Float32Array;
  noise: Float32Array[] | null;
}

export class LatentError extends Error {
  readonly code = 'invalid-input';
}

/** Resolutions of the noisy layers, in the order the synthesis network asks for their noise. */
export function noiseResolutions(resolution: number): number[] {
  return blockResolutions(resolution).flatMap((r) => (r === 4 ? [4] : [r, r]));
}

/** The largest latent file for a generator: its numbers as JSON text, ~25 characters each, and some slack. */
export function maxLatentBytes(c: Pick<GanConfig, 'resolution' | 'wDim'>): number {
  const numbers = numWs(c.resolution) * c.wDim + noiseResolutions(c.resolution).reduce((n, r) => n + r * r, 0);
  return numbers * 25 + (1 << 16);
}

const finiteArray = (x: unknown, length: number): x is number[] =>
  Array.isArray(x) && x.length === length && x.every((v) => typeof v === 'number' && Number.isFinite(v));

/**
 * The latent in `text` (a latent file's content), checked against the generator it will be drawn
 * by: every mismatch is an error that names the field (`what` names the file).
 */
export function parseLatent(text: string, c: Pick<GanConfig, 'resolution' | 'wDim'>, what: string): Latent {
  let f: Partial<LatentFile>;
  try {
    f = JSON.parse(text) as Partial<LatentFile>;
  } catch {
    throw new LatentError(`${what} is not a latent file (not JSON)`);
  }
  if (typeof f !== 'object' || f === null || f.format !== LATENT_FORMAT)
    throw new LatentError(`${what} is not a latent file (format is not "${LATENT_FORMAT}")`);
  if (f.resolution !== c.resolution || f.wDim !== c.wDim)
    throw new LatentError(
      `${what} is the latent of a ${f.resolution}² generator with ${f.wDim}-d w; this one is ` +
        `${c.resolution}² with ${c.wDim}-d w`,
    );
  const rows = numWs(c.resolution);
  let ws: Float32Array;
  if (finiteArray(f.ws, rows * c.wDim)) ws = Float32Array.from(f.ws);
  else if (finiteArray(f.ws, c.wDim)) {
    ws = new Float32Array(rows * c.wDim);
    for (let i = 0; i < rows; i++) ws.set(f.ws, i * c.wDim);
  } else throw new LatentError(`${what}: ws must be ${rows} × ${c.wDim} (or ${c.wDim}) finite numbers`);
  const want = noiseResolutions(c.resolution);
  if (f.noise === undefined || (Array.isArray(f.noise) && f.noise.length === 0)) return { ws, noise: null };
  if (!Array.isArray(f.noise) || f.noise.length !== want.length)
    throw new LatentError(`${what}: noise must be none or ${want.length} maps (${want.join(', ')} px)`);
  const noise = f.noise.map((n, i) => {
    if (n?.res !== want[i] || !finiteArray(n.values, want[i]! ** 2))
      throw new LatentError(`${what}: noise map ${i} must be ${want[i]}² finite numbers`);
    return Float32Array.from(n.values);
  });
  return { ws, noise };
}

/** Reads and checks a latent file (a regular file, at most maxLatentBytes). */
export async function readLatent(path: string, c: Pick<GanConfig, 'resolution' | 'wDim'>): Promise<Latent> {
  const bytes = await withUserFile(path, 'latent file', (f) => f.readWhole(maxLatentBytes(c)));
  if (!bytes) throw new LatentError(`${path} is too large for the latent of a ${c.resolution}² generator`);
  return parseLatent(bytes.toString('utf8'), c, path);
}

/** The same latent as a file's text, canonical (so equal latents are equal files). */
export function latentText(latent: Latent, c: Pick<GanConfig, 'resolution' | 'wDim'>, generator: string): string {
  const rows = numWs(c.resolution);
  let same = true;
  for (let i = 1; i < rows && same; i++)
    for (let j = 0; j < c.wDim; j++)
      if (latent.ws[i * c.wDim + j] !== latent.ws[j]) {
        same = false;
        break;
      }
  const res = noiseResolutions(c.resolution);
  const file: LatentFile = {
    format: LATENT_FORMAT,
    generator,
    resolution: c.resolution,
    wDim: c.wDim,
    wPlus: !same,
    ws: Array.from(latent.ws),
    noise: latent.noise ? latent.noise.map((v, i) => ({ res: res[i]!, values: Array.from(v) })) : [],
    steps: 0,
    distance: 0,
    psnr: 0,
  };
  return JSON.stringify(file);
}
