import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { loadGenerator } from '../../main/core/netfile/generator-file.js';
import { renderBird, type Generator } from '../../main/core/gallery/render.js';
import { featureNetwork } from '../../main/core/insight/feature-net.js';
import { project, psnr } from '../../main/core/insight/project.js';
import { backendReady } from '../helpers/gan.js';
import { CLI, tempDir } from '../helpers/paths.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let file: string;
let gen: Generator;
let target: Uint8Array;

before(async () => {
  await backendReady;
  tmp = tempDir('project');
  file = join(tmp.dir, 'tiny.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '11', '--out', file]);
  gen = await loadGenerator(file);
  target = await renderBird(gen, { seed: 5, psi: 1, noiseMode: 'const' });
  await sharp(target, { raw: { width: 32, height: 32, channels: 3 } })
    .png()
    .toFile(join(tmp.dir, 'bird.png'));
});

after(() => {
  gen.G.dispose();
  tmp.cleanup();
});

test('projecting a bird the network drew recovers it (W+, 300 steps: above 21 dB)', { timeout: 600_000 }, async () => {
  const net = await featureNetwork();
  // Another bird of the same network is ~11 dB from the target: that is "not recovered".
  const other = await renderBird(gen, { seed: 6, psi: 1, noiseMode: 'const' });
  assert.ok(psnr(other, target) < 14);
  // Pixels only: each step is one pass through the tiny G, so 300 fit a test. Measured 23.6 dB
  // on wasm; an untrained network's w → image map is rough, so one shared w plateaus near 18.
  const r = await project(gen, net, target, { steps: 300, wPlus: true, featureWeight: 0, wAvgSamples: 2000 });
  assert.ok(r.psnr > 21, `PSNR ${r.psnr.toFixed(2)} dB`);
  // The noise maps stay at zero mean and unit variance (renormalised after every step).
  for (const n of r.noise) {
    const mean = n.values.reduce((a, b) => a + b, 0) / n.values.length;
    const variance = n.values.reduce((a, b) => a + (b - mean) ** 2, 0) / n.values.length;
    assert.ok(Math.abs(mean) < 1e-4 && Math.abs(variance - 1) < 1e-3, `${n.res}²: mean ${mean}, variance ${variance}`);
  }
});

test('the feature distance falls as the default projection runs', { timeout: 600_000 }, async () => {
  const net = await featureNetwork();
  const seen: number[] = [];
  await project(gen, net, target, { steps: 12, reportEvery: 4, wAvgSamples: 1000, featureSide: 75 }, (p) =>
    seen.push(p.distance),
  );
  // Step 0 (w_avg's bird: a video's first frame), 4, 8 and the last.
  assert.equal(seen.length, 4);
  assert.ok(seen[3]! < seen[0]!, `distances ${seen.map((d) => d.toFixed(4))}`);
});

test(
  'plumage project writes the image and its latent, with distance and PSNR as JSON',
  { timeout: 600_000 },
  async () => {
    const out = join(tmp.dir, 'proj');
    const home = join(tmp.dir, 'home');
    const { stdout } = await run(process.execPath, [
      CLI,
      'project',
      '--checkpoint',
      file,
      '--image',
      join(tmp.dir, 'bird.png'),
      '--steps',
      '3',
      '--out',
      out,
      '--home',
      home,
      '--json',
    ]);
    const r = JSON.parse(stdout) as {
      distance: number;
      psnr: number;
      steps: number;
      image: string;
      latent: string;
      video: string[];
    };
    assert.equal(r.steps, 3);
    assert.ok(Number.isFinite(r.distance) && Number.isFinite(r.psnr));
    assert.deepEqual(readdirSync(out).sort(), ['bird-latent.json', 'bird-projected.png']);
    assert.deepEqual(r.video, []);
    assert.ok(!('preview' in r), 'the previews are for the app, not a script');
    const latent = JSON.parse(readFileSync(r.latent, 'utf8')) as { format: string; ws: number[]; wDim: number };
    assert.equal(latent.format, 'plumage-latent/1');
    assert.equal(latent.ws.length, 8 * latent.wDim, 'numWs(32) = 8 rows of w');
    const meta = await sharp(r.image).metadata();
    assert.equal(meta.width, 32);
  },
);

test('a cancelled projection (Ctrl-C) writes nothing and exits 130', { timeout: 600_000 }, async () => {
  const out = join(tmp.dir, 'cancelled');
  const child = spawn(
    process.execPath,
    [
      CLI,
      'project',
      '--checkpoint',
      file,
      '--image',
      join(tmp.dir, 'bird.png'),
      '--steps',
      '2000',
      '--out',
      out,
      '--home',
      join(tmp.dir, 'home2'),
      '--video',
      'png',
      '--video-every',
      '10',
      '--favourite',
      'Half-written',
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  await new Promise<void>((res) => {
    const check = setInterval(() => {
      if (/step \d+\/2000/.test(stderr) || exited) {
        clearInterval(check);
        res();
      }
    }, 100);
  });
  assert.ok(!exited, `it ended before its first step: ${stderr}`);
  process.kill(-child.pid!, 'SIGINT'); // the whole process group, as a terminal's Ctrl-C does
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /stopped; nothing was written/);
  // Nothing: no image, latent or frame, not even the hidden staging folder, and no favourite.
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, String(existsSync(out) && readdirSync(out)));
  const { stdout } = await run(process.execPath, [
    CLI,
    'favourite',
    'list',
    '--home',
    join(tmp.dir, 'home2'),
    '--json',
  ]);
  assert.deepEqual(JSON.parse(stdout), []);
});

test(
  'project --video writes the optimisation (w_avg, every k steps, the last) with the image and latent, and --favourite keeps it',
  { timeout: 600_000 },
  async () => {
    const out = join(tmp.dir, 'video');
    const home = join(tmp.dir, 'home3');
    const args = ['--checkpoint', file, '--image', join(tmp.dir, 'bird.png'), '--steps', '7', '--out', out];
    const { stdout } = await run(process.execPath, [
      CLI,
      'project',
      ...args,
      '--video',
      'png',
      '--video-every',
      '3',
      '--favourite',
      'Recovered plate',
      '--home',
      home,
      '--json',
    ]);
    const r = JSON.parse(stdout) as { video: string[]; latent: string; favourite: { id: number; name: string } };
    // Frames at steps 0, 3, 6 and 7.
    assert.deepEqual(readdirSync(out).sort(), [
      'bird-latent.json',
      'bird-projected.png',
      'bird-projection-0000.png',
      'bird-projection-0001.png',
      'bird-projection-0002.png',
      'bird-projection-0003.png',
    ]);
    assert.equal(r.video.length, 4);
    // The last frame is the projected image itself; the first is w_avg's bird, not it.
    const raw = async (f: string) => sharp(f).raw().toBuffer();
    assert.deepEqual(await raw(r.video[3]!), await raw(join(out, 'bird-projected.png')));
    assert.notDeepEqual(await raw(r.video[0]!), await raw(join(out, 'bird-projected.png')));
    assert.equal(r.favourite.name, 'Recovered plate');
    const list = JSON.parse(
      (await run(process.execPath, [CLI, 'favourite', 'list', '--home', home, '--json'])).stdout,
    ) as { id: number; name: string; latent: string | null; seed: number | null }[];
    assert.equal(list.length, 1);
    assert.equal(list[0]!.seed, null);
    assert.ok(list[0]!.latent, 'the favourite is its latent');

    // An animated video: one file of 4 pages.
    const gif = await run(
      process.execPath,
      [CLI, 'project', ...args.slice(0, -1), join(tmp.dir, 'gif')].concat([
        '--video',
        'gif',
        '--video-every',
        '3',
        '--home',
        home,
        '--json',
      ]),
    );
    const g = JSON.parse(gif.stdout) as { video: string[] };
    assert.equal(g.video.length, 1);
    assert.equal((await sharp(g.video[0]!).metadata()).pages, 4);

    // A video too big to hold is refused before any work, naming what to change.
    await assert.rejects(
      run(process.execPath, [CLI, 'project', ...args, '--steps', '5000', '--video', 'gif', '--video-every', '1']),
      /has 5001 frames; an animated gif of 32² holds at most 1000 here: give a frame every 6 steps or more/,
    );
  },
);
