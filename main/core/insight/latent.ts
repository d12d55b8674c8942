/**
 * A projected bird's latent as written beside its image: the per-layer w's and the noise maps,
 * everything needed to draw it again from its generator (insight/project.ts).
 */
export const LATENT_FORMAT = 'plumage-latent/1';

export interface LatentFile {
  format: typeof LATENT_FORMAT;
  /** The generator file it was projected into. */
  generator: string;
  resolution: number;
  wDim: number;
  /** One w per synthesis input (W+) rather than one for all. */
  wPlus: boolean;
  /** [numWs × wDim], row-major. */
  ws: number[];
  /** Noise maps in the order the synthesis network asks for them. */
  noise: { res: number; values: number[] }[];
  steps: number;
  distance: number;
  psnr: number;
}
