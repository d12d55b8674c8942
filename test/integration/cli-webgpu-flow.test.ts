/**
 * The CLI as a user with a GPU meets it: init → generate → favourite add → favourite render →
 * interpolate → export (Lanczos and ESRGAN), every drawing command with `--backend webgpu`,
 * against the same flow with `--backend wasm`. In CI WebGPU is Mesa's software Vulkan driver
 * (lavapipe), so the sizes are the smallest honest ones: the tiny preset (32²), two seeds, three
 * frames, a 40 mm print at 150 dpi. Also: no line of Dawn's reaches a command's stderr, and the
 * commands that draw nothing never start Dawn. Skipped, with the reason, only where Dawn finds
 * no adapter at all.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { CLI, tempDir } from '../helpers/paths.js';
import { writePlates } from '../helpers/plates.js';
import { webgpuAdapterProblem } from '../helpers/webgpu.js';

const run = promisify(execFile);
process.env.XDG_RUNTIME_DIR ??= '/tmp'; // Mesa's lavapipe warns without one

/** Dawn's native warning, as it reaches fd 2 when nothing keeps it back. */
const DAWN_WARNING = /Warning: maxDynamic\w+PerPipelineLayout artificially reduced/;

const skip = await webgpuAdapterProblem();
if (skip) console.log(skip);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

async function plumage(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const t0 = performance.now();
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, PLUMAGE_HOME: '', ...env },
      maxBuffer: 16 * 2 ** 20,
    });
    return { code: 0, stdout, stderr, seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, seconds: (performance.now() - t0) / 1000 };
  }
}

let tmp: ReturnType<typeof tempDir>;
let generator: string;

/** What one backend's flow drew: every picture by name, as raw RGB(A), and each command's stderr. */
interface Flow {
  pictures: Map<string, { data: Buffer; width: number; height: number }>;
  stderr: Map<string, string>;
  seconds: Map<string, number>;
}
const flows: Partial<Record<'wasm' | 'webgpu', Flow>> = {};

async function flow(backend: 'wasm' | 'webgpu'): Promise<Flow> {
  const dir = join(tmp.dir, backend);
  const home = join(dir, 'home');
  const out = (name: string): string => {
    mkdirSync(join(dir, name), { recursive: true });
    return join(dir, name);
  };
  const result: Flow = { pictures: new Map(), stderr: new Map(), seconds: new Map() };
  const step = async (name: string, args: string[]): Promise<Ran> => {
    const r = await plumage(args);
    assert.equal(r.code, 0, `${backend} ${name}: ${r.stderr}`);
    result.stderr.set(name, r.stderr);
    result.seconds.set(name, r.seconds);
    return r;
  };
  const read = async (name: string, file: string): Promise<void> => {
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    result.pictures.set(name, { data, width: info.width, height: info.height });
  };
  const b = ['--backend', backend];

  await step('generate', ['generate', '--checkpoint', generator, '--seeds', '0-1', '--out', out('generate'), ...b]);
  for (const f of readdirSync(join(dir, 'generate')).sort()) await read(`generate ${f}`, join(dir, 'generate', f));

  // A plain favourite and a style mix (the mix draws through the per-layer w path).
  await step('favourite add', ['favourite', 'add', '--checkpoint', generator, '--seed', '3', '--home', home]);
  await step('favourite add mix', [
    'favourite', 'add', '--checkpoint', generator, '--seed', '4', '--mix-seed', '5', '--layers', 'coarse',
    '--home', home,
  ]); // prettier-ignore
  for (const id of ['1', '2']) {
    await step(`favourite render ${id}`, ['favourite', 'render', id, '--out', out('render'), '--home', home, ...b]);
    await read(`favourite ${id}`, join(dir, 'render', `favourite-${id}.png`));
  }

  const frames = out('interpolate');
  await step('interpolate', [
    'interpolate', '--favourites', '1,2', '--frames', '3', '--format', 'png', '--out', frames, '--home', home, ...b,
  ]); // prettier-ignore
  for (const f of readdirSync(frames).sort()) await read(`frame ${f}`, join(frames, f));

  for (const upscaler of ['lanczos', 'esrgan']) {
    const prints = out(`prints-${upscaler}`);
    await step(`export ${upscaler}`, [
      'export', '--favourites', 'all', '--paper', '40x40', '--margin', '5', '--dpi', '150', '--format', 'png',
      '--upscaler', upscaler, '--out', prints, '--home', home, ...b,
    ]); // prettier-ignore
    for (const f of readdirSync(prints).sort()) await read(`print ${upscaler} ${f}`, join(prints, f));
  }
  return result;
}

before(async () => {
  tmp = tempDir('webgpu-flow');
  generator = join(tmp.dir, 'tiny.safetensors');
  const init = await plumage(['init', '--preset', 'tiny', '--seed', '2', '--out', generator]);
  assert.equal(init.code, 0, init.stderr);
  assert.doesNotMatch(init.stderr, DAWN_WARNING, 'init draws nothing and never starts Dawn');
});
after(() => tmp.cleanup());

/** Largest per-channel difference between two pictures of one size, and how many values differ. */
function difference(a: Flow['pictures'] extends Map<string, infer P> ? P : never, b: typeof a) {
  assert.deepEqual([a.width, a.height], [b.width, b.height]);
  let worst = 0;
  let count = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > worst) worst = d;
    if (d > 0) count++;
  }
  return { worst, count };
}

/**
 * An ESRGAN print carries its bird's own differences (1/255 at a few pixels, the GPU summing in
 * another order) through a learned network whose local gain exceeds 1, so a print's pixels near
 * them may move by a little more. Measured on lavapipe: 0/255 for these favourites; 3/255 at 73
 * of 222,784 values for a style mix of another generator (init seed 0), whose bird differed by
 * 1/255 at a few pixels. ESRGAN's own parity, one picture fed to both backends, is tested to
 * 1/255 in gan-webgpu.test.ts. A broken kernel moves a print by tens of levels.
 */
const ESRGAN_PRINT_TOLERANCE = 4;

test('the CLI flow with --backend webgpu draws the birds wasm draws, within 1/255 per channel', { skip }, async () => {
  flows.wasm = await flow('wasm');
  flows.webgpu = await flow('webgpu');
  const { wasm, webgpu } = flows as Required<typeof flows>;
  for (const [step, seconds] of webgpu.seconds)
    console.log(`${step}: webgpu ${seconds.toFixed(1)} s, wasm ${wasm.seconds.get(step)!.toFixed(1)} s`);
  assert.deepEqual([...webgpu.pictures.keys()], [...wasm.pictures.keys()]);
  assert.equal(wasm.pictures.size, 2 + 2 + 3 + 4, 'two birds, two favourites, three frames, four prints');
  for (const [name, gpu] of webgpu.pictures) {
    const { worst, count } = difference(gpu, wasm.pictures.get(name)!);
    console.log(`${name}: max |Δ| ${worst}/255 at ${count} of ${gpu.data.length} values`);
    const tolerance = name.startsWith('print esrgan') ? ESRGAN_PRINT_TOLERANCE : 1;
    assert.ok(worst <= tolerance, `${name} differs from wasm's by ${worst}/255`);
  }
});

test(
  "no line of Dawn's reaches a command's stderr; PLUMAGE_DEBUG=1 logs each once, with the adapter",
  { skip },
  async () => {
    const webgpu = flows.webgpu;
    assert.ok(webgpu, 'the flow ran');
    for (const [step, stderr] of webgpu.stderr) {
      assert.doesNotMatch(stderr, DAWN_WARNING, `${step}'s stderr`);
      assert.doesNotMatch(stderr, /OffscreenCanvas|synchronously reading data from GPU/, `${step}'s stderr`);
    }
    const debug = await plumage(
      ['generate', '--checkpoint', generator, '--seeds', '0', '--out', join(tmp.dir, 'debug'), '--backend', 'webgpu'],
      { PLUMAGE_DEBUG: '1' },
    );
    assert.equal(debug.code, 0, debug.stderr);
    assert.doesNotMatch(debug.stderr, new RegExp(`^${DAWN_WARNING.source}`, 'm'), 'no raw Dawn line');
    assert.match(debug.stderr, /^plumage debug: the generator process draws on webgpu: WebGPU on .+\(/m);
    const dawn = debug.stderr.split('\n').filter((l) => l.startsWith('plumage debug: Dawn (in the generator process)'));
    assert.equal(new Set(dawn).size, dawn.length, 'each of Dawn lines is logged once');
  },
);

test('commands that draw nothing never start Dawn: favourite list, runs, export-dataset', { skip }, async () => {
  const home = join(tmp.dir, 'quiet-home');
  const plates = join(tmp.dir, 'plates');
  mkdirSync(plates);
  writePlates(plates, 2);
  const ingest = await plumage(['ingest', plates, '--resolution', '64', '--home', home]);
  assert.equal(ingest.code, 0, ingest.stderr);
  const fav = await plumage(['favourite', 'add', '--checkpoint', generator, '--seed', '1', '--home', home]);
  assert.equal(fav.code, 0, fav.stderr);
  const zip = join(tmp.dir, 'zips');
  mkdirSync(zip);
  for (const args of [
    ['favourite', 'list', '--home', home],
    ['runs', '--home', home],
    ['export-dataset', '--dataset', plates, '--out', zip, '--home', home],
  ]) {
    const r = await plumage(args, { PLUMAGE_DEBUG: '1' });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    // On lavapipe (CI) Dawn says this whenever it lists adapters, in-process or in a child.
    assert.doesNotMatch(r.stderr, DAWN_WARNING, args.join(' '));
    assert.doesNotMatch(r.stderr, /Dawn|WebGPU|webgpu/, args.join(' '));
  }
});
