/**
 * Frames to an MP4 (H.264, the one video every player, site and editor takes), encoded here in
 * the core by `h264-mp4-encoder` (minih264 and libmp4v2 compiled to WebAssembly, shipped inside the
 * npm package: nothing is downloaded, no native binary, no GPL x264; docs/DECISIONS.md).
 *
 * The wasm module is one per process and dies for good on its first abort, so everything it could
 * abort on is checked here first: whole fps (its frame rate is an integer), even sides (4:2:0
 * chroma; an odd side is padded by repeating the last column or row, so a 75-pixel-wide grid
 * plays as 76 wide), the frame buffers' lengths, and the sizes before a byte is allocated. The
 * keyframe table it leaves out is added after (mp4-sync.ts).
 */
import { createRequire } from 'node:module';
import type { H264MP4Encoder } from 'h264-mp4-encoder';
import { FPS_RANGE, MAX_FPS, MIN_FPS } from '../gallery/limits.js';
import { withSyncSamples } from './mp4-sync.js';

/** H.264's level 5.1 holds frames up to 36,864 macroblocks (4096 × 2304); a longer side plays nowhere. */
export const MAX_MP4_SIDE = 4096;
/** Quality over size: these are short clips of small birds, where qp 33 (its default) smears feathers. */
const QUANTIZATION = 20;

export class Mp4Error extends Error {
  readonly code = 'invalid-input';
}

/** Why fps cannot be an MP4's, or null: the encoder's frame rate is a whole number. */
export function whyNotMp4Fps(fps: number): string | null {
  if (Number.isInteger(fps) && fps >= 1 && fps <= MAX_FPS) return null;
  return `an MP4 plays a whole number of frames per second: fps must be a whole number from 1 to ${MAX_FPS} for mp4, got ${fps}`;
}

/** Why width × height cannot be an MP4's frame, or null. */
/**
 * Why an animation cannot play at `fps` in `format` (null: it can): the range every animated
 * format has, then MP4's whole numbers. One check for the gallery's animations and the time-lapse;
 * each caller throws it as its own kind of error.
 */
export function whyNotFps(fps: number, format: string): string | null {
  if (!Number.isFinite(fps) || fps < MIN_FPS || fps > MAX_FPS) return `fps ${FPS_RANGE} (got ${String(fps)})`;
  return format === 'mp4' ? whyNotMp4Fps(fps) : null;
}

export function whyNotMp4Size(width: number, height: number): string | null {
  const ok = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_MP4_SIDE;
  if (ok(width) && ok(height)) return null;
  return `an MP4's frames are at most ${MAX_MP4_SIDE} pixels a side, got ${width} × ${height}`;
}

/** The side an MP4 stores for a frame side: the next even number. */
export const evenSide = (n: number): number => n + (n % 2);

type Module = { createH264MP4Encoder(): Promise<H264MP4Encoder> };
let loaded: Module | null = null;
let broken: string | null = null;

/**
 * Loads the encoder once. Its Emscripten glue adds process-wide `uncaughtException` and
 * `unhandledRejection` listeners (the first rethrows, the second aborts the module): they would
 * change how every other failure in this process ends, so they are taken off again.
 */
function encoderModule(): Module {
  if (loaded) return loaded;
  const before = {
    uncaught: new Set(process.listeners('uncaughtException')),
    rejection: new Set(process.listeners('unhandledRejection')),
  };
  loaded = createRequire(import.meta.url)('h264-mp4-encoder') as Module;
  for (const l of process.listeners('uncaughtException'))
    if (!before.uncaught.has(l)) process.removeListener('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection'))
    if (!before.rejection.has(l)) process.removeListener('unhandledRejection', l);
  return loaded;
}

let serial = 0;

/**
 * Encodes frames of width × height (RGB, 3 bytes a pixel, or RGBA, 4) into MP4 bytes at `fps`,
 * one frame per picture. The frames are handed to the encoder one at a time as RGBA of the even
 * size, so beyond the frames themselves this holds one padded frame and the encoded video.
 */
export async function encodeMp4(
  frames: Uint8Array[],
  width: number,
  height: number,
  channels: 3 | 4,
  fps: number,
): Promise<Uint8Array> {
  const bad = whyNotMp4Fps(fps) ?? whyNotMp4Size(width, height);
  if (bad) throw new Mp4Error(bad);
  if (frames.length === 0) throw new Mp4Error('an MP4 needs at least one frame');
  const want = width * height * channels;
  const wrong = frames.findIndex((f) => f.length !== want);
  if (wrong >= 0)
    throw new Mp4Error(`frame ${wrong} holds ${frames[wrong]!.length} bytes, not ${width} × ${height} × ${channels}`);
  if (broken) throw new Error(`the MP4 encoder failed earlier in this process (${broken}); restart Plumage`);
  const mod = encoderModule();
  const enc = await mod.createH264MP4Encoder();
  const w = evenSide(width);
  const h = evenSide(height);
  // From here to the read there is no await: one encoder at a time uses the module's memory file system.
  enc.outputFilename = `plumage-${process.pid}-${++serial}.mp4`;
  enc.width = w;
  enc.height = h;
  enc.frameRate = fps;
  enc.quantizationParameter = QUANTIZATION;
  enc.groupOfPictures = Math.max(1, fps); // a keyframe a second: editors and players seek to it
  let bytes: Uint8Array;
  try {
    enc.initialize();
    const rgba = new Uint8Array(w * h * 4);
    for (const f of frames) {
      toRgba(f, width, height, channels, rgba, w, h);
      enc.addFrameRgba(rgba);
    }
    enc.finalize();
    bytes = enc.FS.readFile(enc.outputFilename);
    enc.FS.unlink(enc.outputFilename);
  } catch (err) {
    broken = err instanceof Error ? err.message : String(err);
    throw new Error(`the MP4 encoder failed: ${broken}`);
  } finally {
    enc.delete();
  }
  // A new buffer (out of the module's memory), with the keyframe table players seek by.
  return withSyncSamples(bytes);
}

/** Copies a frame into an RGBA buffer of the even size, repeating the last column and row where padded. */
function toRgba(
  src: Uint8Array,
  width: number,
  height: number,
  channels: 3 | 4,
  out: Uint8Array,
  w: number,
  h: number,
): void {
  for (let y = 0; y < h; y++) {
    const sy = Math.min(y, height - 1);
    for (let x = 0; x < w; x++) {
      const s = (sy * width + Math.min(x, width - 1)) * channels;
      const o = (y * w + x) * 4;
      out[o] = src[s]!;
      out[o + 1] = src[s + 1]!;
      out[o + 2] = src[s + 2]!;
      out[o + 3] = 255;
    }
  }
}
