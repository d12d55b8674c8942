/**
 * Netpbm images (PBM, PGM, PPM, PAM): what Linux scanners (SANE's scanimage, xsane) write.
 * The format is a short text header and plain samples, so it is parsed here rather than
 * pulled in as a dependency; every variant is covered by test/unit/decoders.test.ts.
 */
import { scaleSamples, truncatedReason, UndecodableImage, type ImageHeader, type RawPixels } from './decoded.js';

type Variant = 'P1' | 'P2' | 'P3' | 'P4' | 'P5' | 'P6' | 'P7';

interface PnmHeader extends ImageHeader {
  variant: Variant;
  maxval: number;
  channels: 1 | 2 | 3 | 4;
  /** Offset of the first sample byte. */
  dataStart: number;
  /** 'PPM', 'PGM', … for reasons. */
  name: string;
}

const NAMES: Record<Variant, string> = { P1: 'PBM', P2: 'PGM', P3: 'PPM', P4: 'PBM', P5: 'PGM', P6: 'PPM', P7: 'PAM' };

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Whether `head` starts like a Netpbm header (magic, whitespace, then a number or a comment). */
export function looksLikePnm(head: Uint8Array): boolean {
  if (head.length < 4 || head[0] !== 0x50 || head[1]! < 0x31 || head[1]! > 0x37) return false;
  if (head[1] === 0x37) return head[2] === 0x0a && /^(WIDTH|HEIGHT|DEPTH|MAXVAL|TUPLTYPE|#)/.test(ascii(head, 3, 16));
  return /^[ \t\r\n]+(#[^\n]*\n[ \t\r\n]*)*\d/.test(ascii(head, 2, 256));
}

const ascii = (b: Uint8Array, from: number, to: number): string =>
  String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));

/** Reads the header; throws UndecodableImage with the reason (truncated, bad numbers). */
export function readPnmHeader(buf: Uint8Array): PnmHeader {
  const variant = ascii(buf, 0, 2) as Variant;
  const name = NAMES[variant] ?? 'PNM';
  if (!(variant in NAMES)) throw new UndecodableImage('not a Netpbm image');
  if (variant === 'P7') return readPamHeader(buf);
  let pos = 2;
  const token = (): number => {
    for (;;) {
      while (isSpace(buf[pos])) pos++;
      if (buf[pos] !== 0x23) break; // '#' comment to the end of the line
      while (pos < buf.length && buf[pos] !== 0x0a) pos++;
    }
    const start = pos;
    while (pos < buf.length && buf[pos]! >= 0x30 && buf[pos]! <= 0x39) pos++;
    if (pos === buf.length) throw new UndecodableImage(truncatedReason(name));
    if (pos === start || !isSpace(buf[pos])) throw new UndecodableImage(`damaged ${name} header (expected a number)`);
    return Number(ascii(buf, start, pos));
  };
  const width = token();
  const height = token();
  const maxval = variant === 'P1' || variant === 'P4' ? 1 : token();
  if (width < 1 || height < 1) throw new UndecodableImage(`${name} with no pixels (${width}×${height})`);
  if (maxval < 1 || maxval > 65535) throw new UndecodableImage(`damaged ${name} header (maximum value ${maxval})`);
  const channels = variant === 'P3' || variant === 'P6' ? 3 : 1;
  return { variant, width, height, maxval, channels, dataStart: pos + 1, name };
}

function readPamHeader(buf: Uint8Array): PnmHeader {
  const end = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.length, 4096)).indexOf('ENDHDR\n');
  if (end === -1) {
    if (buf.length < 4096) throw new UndecodableImage(truncatedReason('PAM'));
    throw new UndecodableImage('damaged PAM header (no ENDHDR line)');
  }
  const fields = new Map<string, string>();
  for (const line of ascii(buf, 3, end).split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) fields.set(m[1]!, m[2]!);
  }
  const num = (key: string): number => {
    const v = Number(fields.get(key));
    if (!Number.isInteger(v) || v < 1)
      throw new UndecodableImage(`damaged PAM header (${key} is missing or not a number)`);
    return v;
  };
  const [width, height, depth, maxval] = [num('WIDTH'), num('HEIGHT'), num('DEPTH'), num('MAXVAL')];
  if (depth > 4) throw new UndecodableImage(`PAM with ${depth} channels is not supported (1 to 4: grey, RGB, alpha)`);
  if (maxval > 65535) throw new UndecodableImage(`damaged PAM header (MAXVAL ${maxval})`);
  return { variant: 'P7', width, height, maxval, channels: depth as 1 | 2 | 3 | 4, dataStart: end + 7, name: 'PAM' };
}

/** Decodes the whole raster. Samples are scaled to 8 or 16 bits; PBM's 1 (ink) becomes black. */
export function decodePnm(buf: Uint8Array): RawPixels {
  const h = readPnmHeader(buf);
  const count = h.width * h.height * h.channels;
  const truncated = (): never => {
    throw new UndecodableImage(truncatedReason(h.name));
  };
  let samples: ArrayLike<number>;
  let maxval = h.maxval;
  switch (h.variant) {
    case 'P1':
    case 'P2':
    case 'P3': {
      samples = readAsciiSamples(buf, h.dataStart - 1, count, h.variant === 'P1', truncated);
      break;
    }
    case 'P4': {
      const rowBytes = Math.ceil(h.width / 8);
      if (buf.length < h.dataStart + rowBytes * h.height) truncated();
      const out = new Uint8Array(count);
      for (let y = 0; y < h.height; y++) {
        const row = h.dataStart + y * rowBytes;
        for (let x = 0; x < h.width; x++) out[y * h.width + x] = (buf[row + (x >> 3)]! >> (7 - (x & 7))) & 1;
      }
      samples = out;
      break;
    }
    default: {
      const wide = h.maxval > 255;
      if (buf.length < h.dataStart + count * (wide ? 2 : 1)) truncated();
      if (!wide) {
        samples = buf.subarray(h.dataStart, h.dataStart + count);
        if (maxval === 255)
          return { width: h.width, height: h.height, channels: h.channels, data: samples as Uint8Array };
      } else {
        const out = new Uint16Array(count); // big-endian in the file
        for (let i = 0, p = h.dataStart; i < count; i++, p += 2) out[i] = (buf[p]! << 8) | buf[p + 1]!;
        samples = out;
      }
    }
  }
  if (h.variant === 'P1' || h.variant === 'P4') {
    const grey = new Uint8Array(count);
    for (let i = 0; i < count; i++) grey[i] = samples[i] ? 0 : 255; // 1 is ink
    samples = grey;
    maxval = 255;
  }
  return { width: h.width, height: h.height, channels: h.channels, data: scaleSamples(samples, maxval) };
}

function readAsciiSamples(
  buf: Uint8Array,
  from: number,
  count: number,
  bits: boolean,
  truncated: () => never,
): Uint32Array {
  const out = new Uint32Array(count);
  let pos = from;
  for (let i = 0; i < count; i++) {
    for (;;) {
      while (isSpace(buf[pos])) pos++;
      if (buf[pos] !== 0x23) break;
      while (pos < buf.length && buf[pos] !== 0x0a) pos++;
    }
    if (pos >= buf.length) truncated();
    if (bits) {
      // PBM's plain raster may run digits together ("0110"): one digit is one pixel.
      if (buf[pos] !== 0x30 && buf[pos] !== 0x31) throw new UndecodableImage('damaged PBM raster (expected 0 or 1)');
      out[i] = buf[pos++]! - 0x30;
      continue;
    }
    let v = 0;
    const start = pos;
    while (pos < buf.length && buf[pos]! >= 0x30 && buf[pos]! <= 0x39) v = v * 10 + buf[pos++]! - 0x30;
    if (pos === start) throw new UndecodableImage('damaged Netpbm raster (expected a number)');
    out[i] = v;
  }
  return out;
}
