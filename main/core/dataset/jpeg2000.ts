/**
 * JPEG 2000 (JP2 files and raw J2K codestreams), the format of many digital libraries' page
 * images. sharp's prebuilt libvips has no OpenJPEG, so OpenJPEG itself runs here, as the
 * WebAssembly build the Cornerstone medical viewer maintains (@cornerstonejs/codec-openjpeg,
 * MIT, no network, no native build). The JP2 boxes (size, colour space, palette) are read
 * here; the codestream inside goes to OpenJPEG.
 *
 * The decode runs in a worker thread of its own (jpeg2000-worker.ts), one per file, so the
 * wasm heap (which never shrinks) is given back when the file is done, and the event loop
 * is not held for the seconds a large page takes.
 */
import { createRequire } from 'node:module';
import { scaleSamples, truncatedReason, UndecodableImage, type ImageHeader, type RawPixels } from './decoded.js';

const JP2_SIGNATURE = [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];

export const isJp2 = (head: Uint8Array): boolean => JP2_SIGNATURE.every((b, i) => head[i] === b);
/** SOC then SIZ: a raw codestream (.j2k, .j2c, .jpc). */
export const isJ2k = (head: Uint8Array): boolean =>
  head[0] === 0xff && head[1] === 0x4f && head[2] === 0xff && head[3] === 0x51;

interface Jp2Info extends ImageHeader {
  /** The codestream (the jp2c box's content, or the whole file for .j2k). */
  codestream: Uint8Array;
  components: number;
  precision: number;
  /** Wavelet levels the codestream holds: the decode can stop this many halvings short. */
  levels: number;
  /** 'rgb' | 'grey' | 'sycc' (converted here); anything else was refused. */
  colour: 'rgb' | 'grey' | 'sycc' | 'unspecified';
  /** Canvas origin, needed for the size at a reduced resolution. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const NAME = 'JPEG 2000';
const ENUM_COLOURS: Record<number, string> = {
  0: 'bi-level',
  1: 'YCbCr',
  3: 'YCbCr',
  4: 'YCbCr',
  9: 'PhotoYCC',
  11: 'CMY',
  12: 'CMYK',
  13: 'YCCK',
  14: 'CIELab',
  15: 'bi-level',
  19: 'CIEJab',
  20: 'e-sRGB',
  21: 'ROMM-RGB',
  22: 'YPbPr',
  23: 'YPbPr',
  24: 'e-sYCC',
};

interface Box {
  type: string;
  start: number;
  end: number;
}

function* boxes(buf: Uint8Array, from: number, to: number): Generator<Box> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  let pos = from;
  while (pos + 8 <= to) {
    let len = v.getUint32(pos);
    const type = String.fromCharCode(...buf.subarray(pos + 4, pos + 8));
    let header = 8;
    if (len === 1) {
      if (pos + 16 > to) throw new UndecodableImage(truncatedReason(NAME));
      len = Number(v.getBigUint64(pos + 8));
      header = 16;
    } else if (len === 0) {
      len = to - pos; // the last box runs to the end of the file
    }
    if (len < header) throw new UndecodableImage(`damaged ${NAME} (box '${type}' has length ${len})`);
    yield { type, start: pos + header, end: Math.min(pos + len, to) };
    if (pos + len > to) return; // cut off: the caller finds what is missing
    pos += len;
  }
}

/** Reads the JP2 boxes (if any) and the codestream's SIZ and COD markers; no pixel is decoded. */
export function readJpeg2000Header(buf: Uint8Array): Jp2Info {
  let codestream: Uint8Array;
  let colour: Jp2Info['colour'] = 'unspecified';
  if (isJp2(buf)) {
    let stream: Uint8Array | null = null;
    let sawHeader = false;
    for (const box of boxes(buf, 0, buf.length)) {
      if (box.type === 'jp2h') {
        sawHeader = true;
        for (const sub of boxes(buf, box.start, box.end)) {
          if (sub.type === 'pclr') {
            throw new UndecodableImage(`${NAME} with a colour palette is not supported (save it as PNG)`);
          }
          if (sub.type === 'colr' && colour === 'unspecified' && buf[sub.start] === 1 && sub.end - sub.start >= 7) {
            const cs = new DataView(buf.buffer, buf.byteOffset + sub.start + 3, 4).getUint32(0);
            if (cs === 16) colour = 'rgb';
            else if (cs === 17) colour = 'grey';
            else if (cs === 18) colour = 'sycc';
            else
              throw new UndecodableImage(
                `${NAME} in the ${ENUM_COLOURS[cs] ?? `#${cs}`} colour space is not supported`,
              );
          }
          // An ICC profile (methods 2 and 3) is read as sRGB/grey: see docs/DECISIONS.md.
        }
      } else if (box.type === 'jp2c') {
        stream = buf.subarray(box.start, box.end);
        break;
      }
    }
    if (!stream)
      throw new UndecodableImage(sawHeader ? truncatedReason(NAME) : `damaged ${NAME} (no image header box)`);
    codestream = stream;
  } else {
    codestream = buf;
  }
  return { ...readCodestreamHeader(codestream), codestream, colour };
}

function readCodestreamHeader(cs: Uint8Array): Omit<Jp2Info, 'codestream' | 'colour'> {
  if (!isJ2k(cs)) throw new UndecodableImage(`damaged ${NAME} (the codestream does not start with SOC, SIZ)`);
  if (cs.length < 42) throw new UndecodableImage(truncatedReason(NAME));
  const v = new DataView(cs.buffer, cs.byteOffset, cs.length);
  const sizLength = v.getUint16(4);
  const [x1, y1, x0, y0] = [v.getUint32(8), v.getUint32(12), v.getUint32(16), v.getUint32(20)];
  const components = v.getUint16(40);
  if (cs.length < 42 + 3 * components) throw new UndecodableImage(truncatedReason(NAME));
  if (x1 <= x0 || y1 <= y0 || components === 0) throw new UndecodableImage(`damaged ${NAME} (no pixels in its header)`);
  if (components > 4) throw new UndecodableImage(`${NAME} with ${components} components is not supported`);
  let precision = 0;
  for (let c = 0; c < components; c++) {
    const ssiz = cs[42 + 3 * c]!;
    if (ssiz & 0x80) throw new UndecodableImage(`${NAME} with signed samples is not supported`);
    const p = (ssiz & 0x7f) + 1;
    if (p > 16) throw new UndecodableImage(`${NAME} with ${p}-bit samples is not supported (16 at most)`);
    if (c > 0 && p !== precision) throw new UndecodableImage(`${NAME} with components of different precision`);
    precision = p;
    if (cs[43 + 3 * c] !== 1 || cs[44 + 3 * c] !== 1) {
      throw new UndecodableImage(`${NAME} with subsampled colour components is not supported (save it as PNG)`);
    }
  }
  // Main header markers after SIZ, up to the first tile (SOT), for COD's number of levels.
  let levels = 0;
  let pos = 4 + sizLength;
  while (pos + 4 <= cs.length) {
    const marker = v.getUint16(pos);
    if (marker === 0xff90 || (marker & 0xff00) !== 0xff00) break;
    const len = v.getUint16(pos + 2);
    if (marker === 0xff52 && pos + 9 < cs.length) levels = cs[pos + 9]!;
    pos += 2 + len;
  }
  return { width: x1 - x0, height: y1 - y0, components, precision, levels, x0, y0, x1, y1 };
}

interface OpenJpegModule {
  J2KDecoder: new () => {
    getEncodedBuffer(length: number): Uint8Array;
    getDecodedBuffer(): Uint8Array;
    decodeSubResolution(level: number, layer: number): void;
    getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
    delete(): void;
  };
}

/**
 * Decodes at the smallest wavelet level whose image still has `keep` true (e.g. its short
 * side still covers the training resolution): OpenJPEG then allocates only that size,
 * which is what keeps a 200 Mpx page within bounds.
 */
export async function decodeJpeg2000(buf: Uint8Array, keep: (size: ImageHeader) => boolean): Promise<RawPixels> {
  const info = readJpeg2000Header(buf);
  const sizeAt = (k: number): ImageHeader => {
    const d = 2 ** k;
    return {
      width: Math.ceil(info.x1 / d) - Math.ceil(info.x0 / d),
      height: Math.ceil(info.y1 / d) - Math.ceil(info.y0 / d),
    };
  };
  let level = 0;
  while (level < info.levels && keep(sizeAt(level + 1))) level++;
  const { width, height } = sizeAt(level);

  const log: string[] = [];
  const factory = createRequire(import.meta.url)('@cornerstonejs/codec-openjpeg/decodewasmjs') as (opts: {
    print: (s: string) => void;
    printErr: (s: string) => void;
  }) => Promise<OpenJpegModule>;
  const openjpeg = await factory({ print: (s) => log.push(s), printErr: (s) => log.push(s) });
  const decoder = new openjpeg.J2KDecoder();
  let samples: Uint8Array | Uint16Array;
  try {
    decoder.getEncodedBuffer(info.codestream.length).set(info.codestream);
    try {
      decoder.decodeSubResolution(level, 0);
    } catch {
      // OpenJPEG reports through its log; the thrown value is a bare pointer.
    }
    const frame = decoder.getFrameInfo();
    const decoded = decoder.getDecodedBuffer();
    const wide = info.precision > 8;
    const expected = width * height * info.components * (wide ? 2 : 1);
    // A partial picture from a cut-off file is refused too: training on half a plate is worse than none.
    if (frame.width === 0 || decoded.length !== expected || log.some((l) => CUT_OFF.test(l))) {
      throw new UndecodableImage(describeFailure(log));
    }
    // Copy out of the wasm heap, which the next call may move.
    samples = wide
      ? new Uint16Array(decoded.buffer.slice(decoded.byteOffset, decoded.byteOffset + decoded.length))
      : decoded.slice();
  } finally {
    decoder.delete();
  }
  if (info.colour === 'sycc' && info.components >= 3) syccToRgb(samples, info.components, (1 << info.precision) - 1);
  const data =
    info.precision === 8 || info.precision === 16 ? samples : scaleSamples(samples, (1 << info.precision) - 1);
  return { width, height, channels: info.components as RawPixels['channels'], data };
}

/** What OpenJPEG logs when the codestream stops early (it may still hand back a partial image). */
const CUT_OFF = /Stream too short|reached its end|does not end with EOC|inconsistent with stream length|truncated/i;

/** The reason in OpenJPEG's own words, 'truncated' where the stream ran out. */
export function describeFailure(log: string[]): string {
  const errors = log.filter((l) => l.startsWith('[ERROR]')).map((l) => l.replace(/^\[ERROR\]\s*/, '').trim());
  if (log.some((l) => CUT_OFF.test(l))) return truncatedReason(NAME);
  const first = errors.find((e) => !/^opj_decompress/.test(e)) ?? errors[0];
  return first ? `damaged ${NAME}: ${first}` : `damaged ${NAME} (OpenJPEG could not decode it)`;
}

/** sYCC (ITU-T T.800 Annex M) to sRGB, in place; components after the third (alpha) are left. */
function syccToRgb(s: Uint8Array | Uint16Array, components: number, max: number): void {
  const mid = (max + 1) / 2;
  const clamp = (x: number): number => Math.max(0, Math.min(max, Math.round(x)));
  for (let i = 0; i < s.length; i += components) {
    const y = s[i]!;
    const cb = s[i + 1]! - mid;
    const cr = s[i + 2]! - mid;
    s[i] = clamp(y + 1.402 * cr);
    s[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    s[i + 2] = clamp(y + 1.772 * cb);
  }
}
