/**
 * Generator files that lie, and paths that are not files: what the fuzz and hostile-file tests
 * feed every request that takes a path. Each is made small on disk (holes are sparse), and each
 * comes with what its refusal must say.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { presetConfig, referenceArgs, type GanConfig } from '../../main/core/gan/config.js';
import { generatorSpecs } from '../../main/core/gan/generator.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { writeSafetensors } from '../../main/core/netfile/safetensors.js';

/** A 16² generator with 16 channels: a few hundred KB. */
export const SMALL: GanConfig = presetConfig('tiny', {
  resolution: 16,
  channelBase: 128,
  channelMax: 16,
  zDim: 16,
  wDim: 16,
});

interface RawTensor {
  name: string;
  shape: number[];
  /** Bytes it claims; defaults to the shape's float32 size. */
  bytes?: number;
  dtype?: string;
  /** Overrides the entry in the header (a lie about its offsets, a null). */
  entry?: unknown;
}

/**
 * Writes a safetensors file by hand, so its header can say anything: tensors' data is zeros, at
 * most `writeBytes` of it written; the rest is a hole made by truncate (no disk), or with
 * `short`, missing (the file ends early).
 */
export function rawSafetensors(
  file: string,
  tensors: RawTensor[],
  metadata: Record<string, string> = {},
  opts: { writeBytes?: number; short?: boolean } = {},
): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.bytes ?? t.shape.reduce((a, b) => a * b, 1) * 4;
    header[t.name] =
      'entry' in t ? t.entry : { dtype: t.dtype ?? 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const written = Math.min(offset, opts.writeBytes ?? 4 << 20);
  writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(written)]));
  if (offset > written && !opts.short) truncateSync(file, 8 + json.length + offset);
}

/** A generator's tensors under `prefix` (`G_ema.`), for `config`. */
export const generatorTensors = (config: GanConfig, prefix = 'G_ema.'): RawTensor[] =>
  generatorSpecs(config).map((s) => ({ name: `${prefix}${s.name}`, shape: s.refShape }));

/** The plumage.config metadata a Plumage checkpoint carries, saying `config` (true or not). */
export const configMetadata = (config: object): Record<string, string> => ({
  'plumage.config': JSON.stringify({ reference: referenceArgs(config as unknown as GanConfig), plumage: config }),
});

/** A true generator of `config` with random weights, as Plumage writes one; resolves to its weights' bytes. */
export async function randomGenerator(file: string, config: GanConfig, seed: number): Promise<number> {
  const rng = new RandomState(seed);
  const specs = generatorSpecs(config);
  await writeSafetensors(
    file,
    specs.map((s) => ({
      name: `G_ema.${s.name}`,
      shape: s.refShape,
      data: () =>
        rng.randnF32(
          s.refShape.reduce((a, b) => a * b, 1),
          0.1,
        ),
    })),
    { format: 'pt', ...configMetadata(config) },
  );
  return specs.reduce((a, s) => a + s.refShape.reduce((x, y) => x * y, 1) * 4, 0);
}

export interface HostileFile {
  name: string;
  path: string;
  /** What the refusal must say (it must also name the file). */
  says: RegExp;
}

/** Makes a named pipe (there is no Node API for one). */
export function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/**
 * Opens every pipe for writing without blocking, which releases a reader stuck opening it (a
 * hang on today's code must fail its test, not keep the test process alive).
 */
export function releasePipes(paths: string[]): void {
  for (const p of paths) {
    try {
      closeSync(openSync(p, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody is reading it; ENOENT: gone. Either way nothing waits on it.
    }
  }
}

/** Every hostile generator file, made in `dir`. */
export function hostileGenerators(dir: string): HostileFile[] {
  mkdirSync(dir, { recursive: true });
  const at = (name: string): string => join(dir, name);
  const out: HostileFile[] = [];
  const add = (name: string, says: RegExp, make: (path: string) => void): void => {
    make(at(name));
    out.push({ name, path: at(name), says });
  };
  add('missing.safetensors', /no such file/, () => {});
  add('a-folder.safetensors', /is a folder, not a generator file/, (p) => mkdirSync(p));
  add('pipe.safetensors', /is a named pipe, not a generator file/, mkfifo);
  add('zero.safetensors', /links to \/dev\/zero, a device, not a generator file/, (p) => symlinkSync('/dev/zero', p));
  // The header says fc0 is [20000, 20000] (1.6 GB) while the file is 766 KB.
  add('shape-lie.safetensors', /\[20000, 20000\] F32 \(1\.5 GB\) but holds 4 bytes \(its header lies\)/, (p) =>
    rawSafetensors(p, [
      { name: 'G_ema.mapping.fc0.weight', shape: [20000, 20000], bytes: 4 },
      { name: 'G_ema.synthesis.b4.conv1.weight', shape: [16, 16, 3, 3], bytes: 766_000 },
    ]),
  );
  add('offsets-past-end.safetensors', /claims bytes 0–1600000000 .* \(it is truncated or its header lies\)/, (p) =>
    rawSafetensors(
      p,
      [{ name: 'G_ema.mapping.fc0.weight', shape: [20000, 20000] }],
      {},
      { writeBytes: 766_000, short: true },
    ),
  );
  // A true header and tensors, but a plumage.config claiming a 2^20² generator.
  add('config-lie.safetensors', /its resolution is 1048576; a generator is a power of two from 4 to 1024/, (p) =>
    rawSafetensors(p, generatorTensors(SMALL), configMetadata({ ...SMALL, resolution: 2 ** 20 })),
  );
  // A valid header whose fc0 is 1.9 GB, held by a hole: consistent with the file's size, not with its config.
  add('hole.safetensors', /mapping\.fc0\.weight has shape \[16, 30000000\]; its 16² generator needs \[16, 16\]/, (p) =>
    rawSafetensors(
      p,
      generatorTensors(SMALL).map((t) =>
        t.name.endsWith('mapping.fc0.weight') ? { ...t, shape: [16, 30_000_000] } : t,
      ),
      configMetadata(SMALL),
    ),
  );
  // Inferred from the shapes alone (no config): a 1.9 GB fc0 makes a z of 30 M values.
  add('hole-inferred.safetensors', /its zDim is 30000000, over the 2048 Plumage builds/, (p) =>
    rawSafetensors(
      p,
      generatorTensors(SMALL).map((t) =>
        t.name.endsWith('mapping.fc0.weight') ? { ...t, shape: [16, 30_000_000] } : t,
      ),
    ),
  );
  // What reached users raw: "Cannot read properties of null (reading 'data_offsets')".
  add('null-entry.safetensors', /"G_ema\.mapping\.fc0\.weight" has no dtype, shape and data_offsets/, (p) =>
    rawSafetensors(p, [{ name: 'G_ema.mapping.fc0.weight', shape: [1], entry: null }]),
  );
  // What reached users raw: "Invalid typed array length: -64".
  add('negative-shape.safetensors', /has the shape \[-4,4\], not a list of sizes/, (p) =>
    rawSafetensors(p, [{ name: 'G_ema.mapping.fc0.weight', shape: [-4, 4], bytes: 64 }]),
  );
  add('not-json.safetensors', /its header is not valid JSON/, (p) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(6n);
    writeFileSync(p, Buffer.concat([len, Buffer.from('{nope}')]));
  });
  add('truncated-header.safetensors', /its header should be .* \(it is truncated\)/, (p) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(4000n);
    writeFileSync(p, Buffer.concat([len, Buffer.from('{"G_ema.mapping')]));
  });
  add('empty.safetensors', /it is empty/, (p) => writeFileSync(p, ''));
  // A pickle's first bytes, then nothing: read by the restricted pickle reader, which says where it ends.
  add('network.pkl', /network\.pkl is truncated \(a pickle needs 8 more bytes at offset 3\)/, (p) =>
    writeFileSync(p, Buffer.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0])),
  );
  return out;
}

/** A valid generator with a 2.1 GB hole after its tensors: once "File size … greater than 2 GiB", it loads. */
export function generatorWithHole(path: string, holeBytes = 2.1 * 2 ** 30): void {
  rawSafetensors(path, [...generatorTensors(SMALL), { name: 'junk', shape: [Math.floor(holeBytes / 4)] }]);
}

/** Words of internals that must never reach a user. */
export const RAW_INTERNALS =
  /Cannot read properties|Invalid typed array length|greater than 2 GiB|ERR_|undefined|\[object /;

export interface Bounded<T> {
  value?: T;
  error?: Error;
  ms: number;
  /** Largest RSS growth seen while it ran, sampled every 10 ms. */
  peakMB: number;
}

/**
 * Runs `op` for at most `limitMs`, watching this process's memory: a hang becomes a failed
 * assertion (not a stuck suite), and a refusal that read gigabytes first shows in `peakMB`.
 */
export async function bounded<T>(op: () => Promise<T>, limitMs: number): Promise<Bounded<T>> {
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${limitMs} ms`)), limitMs);
  });
  try {
    const value = await Promise.race([op(), timeout]);
    return { value, ms: performance.now() - t0, peakMB: (peak - rss0) / 2 ** 20 };
  } catch (err) {
    return { error: err as Error, ms: performance.now() - t0, peakMB: (peak - rss0) / 2 ** 20 };
  } finally {
    clearTimeout(timer);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
}
