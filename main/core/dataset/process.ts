import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import type { CropMode } from '../../common/vocabulary.js';
import { truncatedReason, UndecodableImage, type RawPixels } from './decoded.js';
import { decisiveSide, parseHexColour, planSquare, type Size } from './geometry.js';
import { decodeRaw, isRawFormat, readRawHeader, type RawFormat } from './rawformats.js';
import { SNIFF_BYTES, sniffImage, type ImageKind } from './sniff.js';

/** sharp's own default (0x3FFF²): enough for any scan, small enough to refuse decompression bombs. */
export const PIXEL_LIMIT = 268_402_689;

export interface SquareOptions {
  resolution: number;
  crop: CropMode;
  /** '#rrggbb': alpha is flattened onto it, and 'pad' fills with it. */
  paper: string;
}

export type SquareResult =
  | { ok: true; /** R×R×3 sRGB bytes, row-major. */ pixels: Buffer; upright: Size }
  | { ok: false; reason: string; upright?: Size };

/**
 * Decodes one image file into the training square.
 * The header is read first, so a too-small image or a pixel bomb is refused before any pixel
 * is decoded; the decode itself goes through sharp's shrink-on-load path (the resize comes
 * first in the plan), which is what makes ingest fast. Formats libvips lacks (Netpbm, BMP,
 * JPEG 2000) are decoded to pixels first and then take the very same pipeline.
 * Never throws for a bad file: every failure is a reason.
 */
export async function renderSquare(input: Buffer, opts: SquareOptions, format?: ImageKind): Promise<SquareResult> {
  const kind = format ?? sniffImage(input.subarray(0, SNIFF_BYTES));
  if (isRawFormat(kind)) return renderRawSquare(input, kind, opts);
  const decodeOptions: SharpOptions = {
    limitInputPixels: PIXEL_LIMIT,
    failOn: 'truncated', // a cut-off file is an error; harmless warnings (extraneous bytes) are not
    animated: false, // first frame of a GIF/WebP animation
    sequentialRead: true,
  };
  let meta: Metadata;
  try {
    // Header only, so no pixel limit yet: we check it below and say how big the image claims to be.
    meta = await sharp(input, { ...decodeOptions, limitInputPixels: false }).metadata();
  } catch (err) {
    return { ok: false, reason: describeDecodeError(err, null, input) };
  }
  const pageHeight = meta.pageHeight ?? meta.height;
  if (!meta.width || !pageHeight) return { ok: false, reason: `${meta.format ?? 'image'} without dimensions` };
  const swapped = (meta.orientation ?? 1) >= 5; // EXIF orientations 5–8 turn the image a quarter
  const upright: Size = swapped ? { width: pageHeight, height: meta.width } : { width: meta.width, height: pageHeight };
  const refused = checkSize(upright, opts);
  if (refused) return refused;
  const source = (): Sharp => sharp(input, decodeOptions).rotate(); // EXIF orientation → upright
  return squareFrom(source, upright, opts, (err) => describeDecodeError(err, meta.format ?? null, input));
}

/** The pixel limit and the resolution, from the header's size. */
function checkSize(upright: Size, opts: SquareOptions): SquareResult | null {
  if (upright.width * upright.height > PIXEL_LIMIT) {
    return { ok: false, reason: `${upright.width}×${upright.height} px exceeds the 268 Mpx pixel limit` };
  }
  if (decisiveSide(upright, opts.crop) < opts.resolution) {
    return {
      ok: false,
      upright,
      reason: `${upright.width}×${upright.height} px is smaller than ${opts.resolution} px`,
    };
  }
  return null;
}

async function renderRawSquare(input: Buffer, format: RawFormat, opts: SquareOptions): Promise<SquareResult> {
  let upright: Size;
  try {
    const header = readRawHeader(format, input);
    upright = { width: header.width, height: header.height };
  } catch (err) {
    return { ok: false, reason: undecodableReason(err, format) };
  }
  const refused = checkSize(upright, opts);
  if (refused) return refused;
  let raw: RawPixels;
  try {
    raw = await decodeRaw(format, input, opts);
  } catch (err) {
    return { ok: false, upright, reason: undecodableReason(err, format) };
  }
  const source = (): Sharp =>
    sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
  return squareFrom(source, upright, opts, (err) => undecodableReason(err, format));
}

const undecodableReason = (err: unknown, format: RawFormat): string =>
  err instanceof UndecodableImage
    ? err.message
    : `could not decode ${format === 'pnm' ? 'Netpbm' : format.toUpperCase()}: ${err instanceof Error ? err.message : String(err)}`;

/** Upright source → flattened, resized, cropped or padded R×R×3 sRGB square. */
async function squareFrom(
  source: () => Sharp,
  upright: Size,
  opts: SquareOptions,
  describe: (err: unknown) => string,
): Promise<SquareResult> {
  const paper = parseHexColour(opts.paper);
  const plan = planSquare(upright, opts.resolution, opts.crop);
  try {
    let pipeline = source()
      .flatten({ background: paper })
      .resize(plan.resize.width, plan.resize.height, { fit: 'fill', kernel: 'lanczos3' });
    if (plan.mode === 'crop') {
      pipeline = pipeline.extract({ left: plan.left, top: plan.top, width: opts.resolution, height: opts.resolution });
    } else if (plan.mode === 'attention') {
      // A second resize to R×R with 'cover' on an already-covering size only crops; sharp places it.
      // The first pass decodes the file, so it is inside the try: a truncated file is a reason, not a throw.
      pipeline = sharp(await pipeline.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer(), {
        raw: { width: plan.resize.width, height: plan.resize.height, channels: 3 },
      }).resize(opts.resolution, opts.resolution, { fit: 'cover', position: sharp.strategy.attention });
    } else {
      pipeline = pipeline.extend({ ...plan, background: paper });
    }
    const { data, info } = await pipeline
      .toColourspace('srgb') // CMYK, greyscale, Lab, 16-bit → 8-bit sRGB
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.width !== opts.resolution || info.height !== opts.resolution || info.channels !== 3) {
      return { ok: false, upright, reason: `unexpected decode result ${info.width}×${info.height}×${info.channels}` };
    }
    return { ok: true, pixels: data, upright };
  } catch (err) {
    return { ok: false, upright, reason: describe(err) };
  }
}

/**
 * Whether the file stops before its format's end marker. Decided from the bytes, because
 * libvips' error text is process-global: with several images in flight another decode can
 * take it, leaving 'Unknown error'.
 */
export function isTruncated(input: Buffer, format: string | null): boolean {
  const tail = input.subarray(Math.max(0, input.length - 32));
  switch (format) {
    case 'jpeg':
      return tail.indexOf(Buffer.from([0xff, 0xd9])) === -1; // EOI
    case 'png':
      return tail.indexOf(Buffer.from('IEND', 'ascii')) === -1;
    case 'gif':
      return input[input.length - 1] !== 0x3b; // trailer
    case 'webp':
      return input.length >= 8 && input.readUInt32LE(4) + 8 > input.length; // RIFF size
    default:
      return false;
  }
}

/** Turns a failed decode into a reason a person can act on. */
export function describeDecodeError(err: unknown, format: string | null, input?: Buffer): string {
  const message = err instanceof Error ? err.message : String(err);
  const what = format ? format.toUpperCase() : 'image';
  if (input && isTruncated(input, format)) return truncatedReason(what);
  if (/pixel limit/i.test(message)) return 'exceeds the 268 Mpx pixel limit';
  if (/premature end|truncated|unexpected end|end of (input|file)|not enough data|read error/i.test(message)) {
    return truncatedReason(what);
  }
  if (/unsupported image format/i.test(message)) return 'not an image (unsupported or damaged format)';
  // libvips says "Input buffer has corrupt header:" and nothing after the colon for a file whose
  // first bytes promise a format its content is not (a text file with a PNG signature).
  if (/corrupt header/i.test(message)) return `not a readable ${what}: its header is damaged or lies about the format`;
  const firstLine = message
    .split('\n')[0]!
    .replace(/^(Input (buffer|file) |VipsJpeg: |VipsForeignLoad\w*: )/, '')
    .replace(/:\s*$/, '');
  return `could not decode ${what}: ${firstLine}`;
}

/** A small PNG preview of the processed square, so people can check the crops. Made from the
 *  already-resized pixels, so it costs a fraction of the decode. */
export async function renderThumbnail(pixels: Buffer, resolution: number, size = 128): Promise<Buffer> {
  const side = Math.min(resolution, size);
  let img = sharp(pixels, { raw: { width: resolution, height: resolution, channels: 3 } });
  if (side !== resolution) img = img.resize(side, side, { kernel: 'lanczos3' });
  return img.png({ compressionLevel: 3, adaptiveFiltering: false }).toBuffer();
}
