import type { BirdSpec } from '../gallery/render.js';

/** What the export engine prints: one picture with what its caption says about it. */
export interface PrintItem {
  /** Square RGB picture, row-major, `size` × `size` × 3 bytes. */
  rgb: Uint8Array;
  size: number;
  /** Plate number (the favourite's id, or its place in the selection). */
  plate: number;
  /** The bird's name, as the user typed it. */
  name: string;
  /** Null for a projected bird (a latent): its caption says so instead. */
  seed: number | null;
  psi?: number;
  /** Run name, when the generator came from a run. */
  run?: string;
  kimg?: number;
  /** Date the picture was kept, YYYY-MM-DD. */
  date: string;
}

/** What a caption says about a print, without its picture. */
export type PrintFacts = Omit<PrintItem, 'rgb' | 'size'>;

/** A print to make: its caption facts now, its picture only when it is its turn (generating is costly). */
export interface PrintSource extends PrintFacts {
  picture: () => Promise<{ rgb: Uint8Array; size: number }>;
}

/**
 * A favourite to print as plain data, so it can cross into the export process: its picture is
 * `bird` drawn by the generator file at `generatorPath`.
 */
export interface FavouriteSource extends PrintFacts {
  generatorPath: string;
  bird: BirdSpec;
}
