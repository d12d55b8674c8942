/** What the export engine prints: one picture with what its caption says about it. */
export interface PrintItem {
  /** Square RGB picture, row-major, `size` × `size` × 3 bytes. */
  rgb: Uint8Array;
  size: number;
  /** Plate number (the favourite's id, or its place in the selection). */
  plate: number;
  /** The bird's name, as the user typed it. */
  name: string;
  seed: number;
  psi?: number;
  /** Run name, when the generator came from a run. */
  run?: string;
  kimg?: number;
  /** Date the picture was kept, YYYY-MM-DD. */
  date: string;
}

/** A print to make: its caption facts now, its picture only when it is its turn (generating is costly). */
export interface PrintSource extends Omit<PrintItem, 'rgb' | 'size'> {
  picture: () => Promise<{ rgb: Uint8Array; size: number }>;
}
