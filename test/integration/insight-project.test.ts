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
  assert.equal(seen.length, 3);
  assert.ok(seen[2]! < seen[0]!, `distances ${seen.map((d) => d.toFixed(4))}`);
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
    const r = JSON.parse(stdout) as { distance: number; psnr: number; steps: number; image: string; latent: string };
    assert.equal(r.steps, 3);
    assert.ok(Number.isFinite(r.distance) && Number.isFinite(r.psnr));
    assert.deepEqual(readdirSync(out).sort(), ['bird-latent.json', 'bird-projected.png']);
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
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((res) => {
    const check = setInterval(() => {
      if (/step \d+\/2000/.test(stderr)) {
        clearInterval(check);
        res();
      }
    }, 100);
  });
  process.kill(-child.pid!, 'SIGINT'); // the whole process group, as a terminal's Ctrl-C does
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /stopped; nothing was written/);
  assert.ok(!existsSync(out) || readdirSync(out).length === 0);
});
