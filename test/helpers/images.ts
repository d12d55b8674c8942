import sharp, { type Sharp } from 'sharp';
import { deflateSync } from 'node:zlib';

export type Rgb = { r: number; g: number; b: number };
export const RED: Rgb = { r: 200, g: 30, b: 30 };
export const BLUE: Rgb = { r: 20, g: 40, b: 210 };

export const solid = (width: number, height: number, colour: Rgb): Sharp =>
  sharp({ create: { width, height, channels: 3, background: colour } });

/** An image whose top half is `top` and bottom half `bottom`. */
export async function twoTone(width: number, height: number, top: Rgb, bottom: Rgb): Promise<Sharp> {
  const half = Math.floor(height / 2);
  const bottomPng = await solid(width, height - half, bottom)
    .png()
    .toBuffer();
  return solid(width, height, top).composite([{ input: bottomPng, top: half, left: 0 }]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A "decompression bomb": a valid PNG header claiming width × height pixels, with one tiny
 * compressed row. Decoding it fully would need width·height·3 bytes; the ingest must refuse it
 * from the header alone.
 */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Mean colour of an R×R×3 square's sub-rectangle. */
export function meanColour(pixels: Uint8Array, res: number, x0: number, y0: number, w: number, h: number): Rgb {
  let r = 0,
    g = 0,
    b = 0;
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const i = (y * res + x) * 3;
      r += pixels[i]!;
      g += pixels[i + 1]!;
      b += pixels[i + 2]!;
    }
  }
  const n = w * h;
  return { r: r / n, g: g / n, b: b / n };
}

export function assertNear(actual: Rgb, expected: Rgb, tolerance: number, what: string): void {
  for (const k of ['r', 'g', 'b'] as const) {
    if (Math.abs(actual[k] - expected[k]) > tolerance) {
      throw new Error(`${what}: expected ~${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  }
}
