/**
 * What the decoders sharp's libvips lacks (PNM, BMP, JPEG 2000) hand to the sharp pipeline:
 * interleaved pixels sharp reads as raw input, so crop, resize, colour and thumbnails behave
 * exactly as for the formats sharp decodes itself.
 */
export interface RawPixels {
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** 8-bit samples, or 16-bit ones scaled to the full 0…65535 range (sharp reads a Uint16Array as ushort). */
  data: Uint8Array | Uint16Array;
}

/** Dimensions read from the header alone, before any pixel is decoded. */
export interface ImageHeader {
  width: number;
  height: number;
}

/** A file the decoder cannot read; the message is the reason shown to the person. */
export class UndecodableImage extends Error {}

/** 'truncated JPEG' is the wording for JPEG; the others say what it means. */
export const truncatedReason = (what: string): string =>
  what === 'JPEG' ? 'truncated JPEG' : `truncated ${what} (the file is cut off)`;

/**
 * Scales samples of `maxval` to 8 bits (maxval ≤ 255) or to 16 bits, so every decoder hands
 * sharp the full range whatever the file's own precision (a 12-bit JPEG 2000, a PGM of maxval 1000).
 */
export function scaleSamples(samples: ArrayLike<number>, maxval: number): Uint8Array | Uint16Array {
  const full = maxval <= 255 ? 255 : 65535;
  const out = full === 255 ? new Uint8Array(samples.length) : new Uint16Array(samples.length);
  if (maxval === full) {
    for (let i = 0; i < samples.length; i++) out[i] = Math.min(samples[i]!, full);
    return out;
  }
  const k = full / maxval;
  for (let i = 0; i < samples.length; i++) out[i] = Math.min(full, Math.round(samples[i]! * k));
  return out;
}
