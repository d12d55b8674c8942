/**
 * Windows and OS/2 bitmaps. Decoded here because none of the npm decoders read the common
 * variants right (measured against ImageMagick's output, see docs/DECISIONS.md): libnsbmp's
 * wasm build and its JS port refuse RLE8 with end-of-line codes, bmp-ts swaps channels and
 * drops palettes below 8 bits, decode-bmp refuses top-down and 16-bit files, fast-bmp reads
 * V5 headers only. Every variant below has a fixture in test/unit/decoders.test.ts.
 *
 * Headers: core (OS/2 1.x, 12 bytes), OS/2 2.x (16/64), info (40) and V2–V5 (52, 56, 108, 124).
 * Pixels: 1, 2, 4, 8-bit palettes (also RLE4/RLE8), 16 and 32-bit (default or bit-field masks,
 * alpha where a mask says so), 24-bit; bottom-up or top-down.
 */
import { truncatedReason, UndecodableImage, type ImageHeader, type RawPixels } from './decoded.js';

const HEADER_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);
const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_JPEG = 4;
const BI_PNG = 5;
const BI_ALPHABITFIELDS = 6;

interface BmpHeader extends ImageHeader {
  bpp: number;
  compression: number;
  topDown: boolean;
  dataOffset: number;
  headerSize: number;
}

/**
 * 'BM' alone is not enough: plenty of text starts with those letters ("BM is …"). A bitmap
 * also has a known info-header size where text has letters.
 */
export function looksLikeBmp(head: Uint8Array): boolean {
  if (head.length < 18 || head[0] !== 0x42 || head[1] !== 0x4d) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  const headerSize = view.getUint32(14, true);
  const dataOffset = view.getUint32(10, true);
  return HEADER_SIZES.has(headerSize) && dataOffset >= 14 + headerSize;
}

export function readBmpHeader(buf: Uint8Array): BmpHeader {
  if (buf.length < 26) throw new UndecodableImage(truncatedReason('BMP'));
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const headerSize = v.getUint32(14, true);
  const dataOffset = v.getUint32(10, true);
  if (headerSize === 12) {
    return {
      width: v.getUint16(18, true),
      height: v.getInt16(20, true),
      bpp: v.getUint16(24, true),
      compression: BI_RGB,
      topDown: false,
      dataOffset,
      headerSize,
    };
  }
  if (buf.length < 14 + Math.min(headerSize, 40)) throw new UndecodableImage(truncatedReason('BMP'));
  const rawHeight = v.getInt32(22, true);
  const compression = headerSize >= 20 ? v.getUint32(30, true) : BI_RGB;
  const os2 = headerSize === 16 || headerSize === 64;
  if (os2 && (compression === 3 || compression === 4)) {
    throw new UndecodableImage('OS/2 BMP with Huffman or RLE24 compression is not supported (save it as PNG)');
  }
  return {
    width: v.getInt32(18, true),
    height: Math.abs(rawHeight),
    bpp: v.getUint16(28, true),
    compression,
    topDown: rawHeight < 0,
    dataOffset,
    headerSize,
  };
}

interface Mask {
  mask: number;
  shift: number;
  max: number;
}

function toMask(mask: number): Mask {
  if (mask === 0) return { mask: 0, shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { mask, shift, max: mask >>> shift };
}

const channel = (px: number, m: Mask): number =>
  m.max === 0 ? 0 : Math.round((((px & m.mask) >>> m.shift) * 255) / m.max);

export function decodeBmp(buf: Uint8Array): RawPixels {
  const h = readBmpHeader(buf);
  const { width, height, bpp, compression } = h;
  if (width < 1 || height < 1) throw new UndecodableImage(`BMP with no pixels (${width}×${height})`);
  if (compression === BI_JPEG || compression === BI_PNG) {
    throw new UndecodableImage('BMP wrapping a JPEG or PNG is not supported (save the picture itself)');
  }
  if (![BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(compression)) {
    throw new UndecodableImage(`BMP compression ${compression} is not supported (save it as PNG)`);
  }
  if (![1, 2, 4, 8, 16, 24, 32].includes(bpp)) throw new UndecodableImage(`BMP with ${bpp} bits per pixel`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);

  // Bit-field masks sit in the V2+ header, or right after a 40-byte one.
  let masks: Mask[] | null = null;
  let afterHeader = 14 + h.headerSize;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    const at = h.headerSize >= 52 ? 54 : afterHeader;
    const n = compression === BI_ALPHABITFIELDS || h.headerSize >= 56 ? 4 : 3;
    if (buf.length < at + 4 * n) throw new UndecodableImage(truncatedReason('BMP'));
    masks = Array.from({ length: 4 }, (_, i) => toMask(i < n ? v.getUint32(at + 4 * i, true) : 0));
    if (h.headerSize === 40) afterHeader += 4 * n;
  } else if (bpp === 16) {
    masks = [0x7c00, 0x03e0, 0x001f, 0].map(toMask); // X1R5G5B5
  } else if (bpp === 32) {
    masks = [0xff0000, 0x00ff00, 0x0000ff, 0].map(toMask); // BGRX: the fourth byte is not alpha
  }

  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const entry = h.headerSize === 12 ? 3 : 4;
    const used = h.headerSize >= 36 ? v.getUint32(46, true) : 0;
    const count = Math.min(used || 1 << bpp, 1 << bpp, Math.floor((h.dataOffset - afterHeader) / entry));
    palette = new Uint8Array(256 * 3); // indexes past the table read black
    for (let i = 0; i < count; i++) {
      const p = afterHeader + i * entry;
      palette.set([buf[p + 2]!, buf[p + 1]!, buf[p]!], i * 3);
    }
  }

  const alpha = masks !== null && masks[3]!.max > 0;
  const channels = alpha ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  const rowOf = (y: number): number => (h.topDown ? y : height - 1 - y); // y counts rows in file order

  if (compression === BI_RLE8 || compression === BI_RLE4) {
    if (h.topDown) throw new UndecodableImage('damaged BMP (a compressed bitmap cannot be top-down)');
    decodeRle(buf, h, palette!, out, compression === BI_RLE4);
    return { width, height, channels: 3, data: out };
  }

  const stride = Math.ceil((width * bpp) / 32) * 4;
  const lastRowBytes = Math.ceil((width * bpp) / 8);
  if (buf.length < h.dataOffset + stride * (height - 1) + lastRowBytes)
    throw new UndecodableImage(truncatedReason('BMP'));
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + y * stride;
    let o = rowOf(y) * width * channels;
    for (let x = 0; x < width; x++, o += channels) {
      if (palette) {
        const index = (buf[row + ((x * bpp) >> 3)]! >> (8 - bpp - ((x * bpp) & 7))) & ((1 << bpp) - 1);
        out[o] = palette[index * 3]!;
        out[o + 1] = palette[index * 3 + 1]!;
        out[o + 2] = palette[index * 3 + 2]!;
      } else if (bpp === 24) {
        const p = row + x * 3;
        out[o] = buf[p + 2]!;
        out[o + 1] = buf[p + 1]!;
        out[o + 2] = buf[p]!;
      } else {
        const px = bpp === 16 ? v.getUint16(row + x * 2, true) : v.getUint32(row + x * 4, true);
        out[o] = channel(px, masks![0]!);
        out[o + 1] = channel(px, masks![1]!);
        out[o + 2] = channel(px, masks![2]!);
        if (alpha) out[o + 3] = channel(px, masks![3]!);
      }
    }
  }
  // Writers that declare an alpha mask but leave it all zero mean "opaque", as browsers read it.
  if (alpha) {
    let any = false;
    for (let i = 3; i < out.length && !any; i += 4) any = out[i] !== 0;
    if (!any) for (let i = 3; i < out.length; i += 4) out[i] = 255;
  }
  return { width, height, channels, data: out };
}

/** RLE8/RLE4: runs and literal stretches, with end-of-line, end-of-bitmap and delta codes. */
function decodeRle(buf: Uint8Array, h: BmpHeader, palette: Uint8Array, out: Uint8Array, four: boolean): void {
  const { width, height } = h;
  let x = 0;
  let y = 0; // from the bottom row up
  let pos = h.dataOffset;
  const put = (index: number): void => {
    if (x < width && y < height) {
      const o = ((height - 1 - y) * width + x) * 3;
      out[o] = palette[index * 3]!;
      out[o + 1] = palette[index * 3 + 1]!;
      out[o + 2] = palette[index * 3 + 2]!;
    }
    x++;
  };
  // Pixels the stream skips keep palette entry 0, as Windows draws them.
  for (let i = 0; i < width * height; i++) out.set(palette.subarray(0, 3), i * 3);
  for (;;) {
    if (pos + 1 >= buf.length) throw new UndecodableImage(truncatedReason('BMP'));
    const count = buf[pos]!;
    const code = buf[pos + 1]!;
    pos += 2;
    if (count > 0) {
      for (let i = 0; i < count; i++) put(four ? (i & 1 ? code & 0x0f : code >> 4) : code);
    } else if (code === 0) {
      x = 0;
      y++;
    } else if (code === 1) {
      return;
    } else if (code === 2) {
      if (pos + 1 >= buf.length) throw new UndecodableImage(truncatedReason('BMP'));
      x += buf[pos]!;
      y += buf[pos + 1]!;
      pos += 2;
    } else {
      const bytes = four ? Math.ceil(code / 2) : code;
      if (pos + bytes > buf.length) throw new UndecodableImage(truncatedReason('BMP'));
      for (let i = 0; i < code; i++)
        put(four ? (i & 1 ? buf[pos + (i >> 1)]! & 0x0f : buf[pos + (i >> 1)]! >> 4) : buf[pos + i]!);
      pos += bytes + (bytes & 1); // literal stretches are padded to 16 bits
    }
    if (y >= height) return; // past the top: nothing more can be drawn
  }
}
