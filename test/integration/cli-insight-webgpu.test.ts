/**
 * Seeing into the model on a GPU, as a user with one meets it from the CLI: directions
 * (GANSpace samples w's through the mapping network), a bird drawn along a direction, the
 * closest plates and a projection, each with `--backend webgpu`, against the same command with
 * `--backend wasm`. In CI WebGPU is Mesa's lavapipe, so the sizes are the smallest honest ones:
 * the tiny preset, four plates at 64², a 3-step projection. (A KID is the feature network of
 * `nearest` over generated birds: the checkpoint-score tests cover its arithmetic on wasm.)
 * The two backends sum in different orders, so numbers agree to float tolerance, not bits; a
 * broken kernel is caught, and each command must show in PLUMAGE_DEBUG's lines that it started
 * Dawn (asked for webgpu, a command that cannot have it fails). Skipped, with the
 * reason, only where Dawn finds no adapter.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { CLI, tempDir } from '../helpers/paths.js';
import { PLATE_NAMES, plate } from '../helpers/plates.js';
import { webgpuAdapterProblem } from '../helpers/webgpu.js';

const run = promisify(execFile);
process.env.XDG_RUNTIME_DIR ??= '/tmp'; // Mesa's lavapipe warns without one

const skip = await webgpuAdapterProblem();
if (skip) console.log(skip);

type Backend = 'wasm' | 'webgpu';
/** PLUMAGE_DEBUG's line where a process started Dawn (asked for webgpu, a command fails rather than fall back). */
const STARTED_DAWN = /^plumage debug: (Dawn \(in the|the generator process draws on webgpu)/m;
let tmp: ReturnType<typeof tempDir>;
let generator: string;
let plates: string;

/** Runs the CLI in the home of `home`'s backend (each backend its own home, so its own cached features). */
async function plumage(
  home: Backend | null,
  args: string[],
  backend: Backend | null = home,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(process.execPath, [CLI, ...args, ...(backend ? ['--backend', backend] : [])], {
      env: { ...process.env, PLUMAGE_HOME: join(tmp.dir, `home-${home ?? 'none'}`), PLUMAGE_DEBUG: '1' },
      maxBuffer: 16 * 2 ** 20,
    });
  } catch (err) {
    const e = err as { code: number; stderr: string };
    throw new Error(`plumage ${args.join(' ')} --backend ${backend} exited ${e.code}: ${e.stderr}`);
  }
}

/** A command's JSON answer on one backend, checking it said which backend it drew on. */
async function json<T>(backend: Backend, args: string[]): Promise<T> {
  const { stdout, stderr } = await plumage(backend, [...args, '--json']);
  if (backend === 'webgpu') assert.match(stderr, STARTED_DAWN, `${args[0]} started WebGPU:\n${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

const close = (a: number, b: number, rel: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-6), `${what}: ${a} against ${b}`);

before(async () => {
  tmp = tempDir('insight-webgpu');
  generator = join(tmp.dir, 'tiny.safetensors');
  await plumage(null, ['init', '--preset', 'tiny', '--seed', '2', '--out', generator]);
  plates = join(tmp.dir, 'plates');
  mkdirSync(plates);
  for (const name of PLATE_NAMES.slice(0, 4)) copyFileSync(plate(name), join(plates, name));
  for (const home of ['wasm', 'webgpu'] as const) await plumage(home, ['ingest', plates, '--resolution', '64'], null);
});
after(() => tmp.cleanup());

test('GANSpace directions on webgpu are wasm’s', { skip }, async () => {
  const [cpu, gpu] = (await Promise.all(
    (['wasm', 'webgpu'] as const).map((b) =>
      json<{ strengths: number[] }>(b, ['directions', '--checkpoint', generator, '--method', 'ganspace']),
    ),
  )) as [{ strengths: number[] }, { strengths: number[] }];
  assert.equal(gpu.strengths.length, cpu.strengths.length);
  gpu.strengths.forEach((s, i) => close(s, cpu.strengths[i]!, 1e-4, `strength ${i}`));
});

test('a bird drawn along a direction on webgpu is wasm’s within 1/255', { skip }, async () => {
  const drawn: Buffer[] = [];
  for (const backend of ['wasm', 'webgpu'] as const) {
    const out = join(tmp.dir, `along-${backend}`);
    const args = ['generate', '--checkpoint', generator, '--seeds', '0', '--direction', '1', '--amount', '3'];
    const { stderr } = await plumage(backend, [...args, '--out', out]);
    if (backend === 'webgpu') assert.match(stderr, STARTED_DAWN);
    const [file] = readdirSync(out).filter((f) => f.endsWith('.png'));
    drawn.push(await sharp(join(out, file!)).raw().toBuffer());
  }
  const [cpu, gpu] = drawn as [Buffer, Buffer];
  assert.equal(gpu.length, cpu.length);
  let worst = 0;
  for (let i = 0; i < cpu.length; i++) worst = Math.max(worst, Math.abs(cpu[i]! - gpu[i]!));
  assert.ok(worst <= 1, `differs by ${worst}/255`);
});

test('the closest plates and a projection on webgpu agree with wasm', { skip }, async () => {
  interface Nearest {
    neighbours: { file: string; distance: number }[];
  }
  interface Projected {
    distance: number;
    psnr: number;
  }
  const target = join(plates, PLATE_NAMES[0]!);
  const results: Record<Backend, { nearest: Nearest; projected: Projected }> = {} as never;
  for (const backend of ['wasm', 'webgpu'] as const) {
    const nearest = await json<Nearest>(backend, ['nearest', '--image', target, '--dataset', plates, '--k', '3']);
    const projected = await json<Projected>(backend, [
      'project', '--checkpoint', generator, '--image', target, '--steps', '3', '--out', join(tmp.dir, `proj-${backend}`),
    ]); // prettier-ignore
    results[backend] = { nearest, projected };
  }
  const { wasm, webgpu } = results;
  // A training plate finds itself first, at distance 0, on either backend.
  assert.equal(webgpu.nearest.neighbours[0]!.file, target);
  assert.ok(webgpu.nearest.neighbours[0]!.distance < 1e-3);
  assert.deepEqual(
    webgpu.nearest.neighbours.map((n) => n.file),
    wasm.nearest.neighbours.map((n) => n.file),
  );
  webgpu.nearest.neighbours.forEach((n, i) =>
    close(n.distance, wasm.nearest.neighbours[i]!.distance, 1e-3, 'distance'),
  );
  close(webgpu.projected.distance, wasm.projected.distance, 1e-3, 'projection distance');
  close(webgpu.projected.psnr, wasm.projected.psnr, 1e-3, 'projection PSNR');
});
