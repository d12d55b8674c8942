import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { loadCheckpoint, saveCheckpoint } from '../../main/core/netfile/checkpoint.js';
import { loadGenerator } from '../../main/core/netfile/generator-file.js';
import { trainerFromGenerator, trainerFromNetworkFile } from '../../main/core/netfile/transfer.js';
import { discriminate } from '../../main/core/gan/discriminator.js';
import { generate } from '../../main/core/gan/generator.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { CorruptCheckpointError, writeSafetensors } from '../../main/core/netfile/safetensors.js';
import { sampleSeeds } from '../../main/core/gan/sample.js';
import { GanTrainer, type PhaseName } from '../../main/core/gan/training.js';
import { CLI, tempDir } from '../helpers/paths.js';
import { backendReady, micro, readAndDispose, valueOf } from '../helpers/gan.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;

before(async () => {
  await backendReady;
  tmp = tempDir('gan');
});
after(() => tmp.cleanup());

/** A batch of 16² images, each one flat colour: warm red or cool blue. */
const COLOURS = [
  [0.8, -0.5, -0.6],
  [-0.6, -0.4, 0.8],
];
function flatBatch(rng: RandomState, n: number): tf.Tensor4D {
  const data = new Float32Array(n * 16 * 16 * 3);
  for (let k = 0; k < n; k++) {
    const col = COLOURS[rng.integer(0, 2)]!;
    for (let p = 0; p < 256; p++) data.set(col, (k * 256 + p) * 3);
  }
  return tf.tensor4d(data, [n, 16, 16, 3]);
}

/** How far G_ema's samples are from the data: mean distance of each pixel to the nearest data colour. */
function distanceToData(trainer: GanTrainer): Promise<number> {
  return valueOf(
    tf.tidy(() => {
      const z = tf.tensor2d(new RandomState(777).randnF32(16 * trainer.config.zDim), [16, trainer.config.zDim]);
      const img = generate(trainer.G_ema, trainer.config, z, 1, { noiseMode: 'const' });
      const dists = COLOURS.map((col) => tf.sqrt(tf.sum(tf.square(tf.sub(img, tf.tensor1d(col))), 3)));
      return tf.mean(tf.minimum(dists[0]!, dists[1]!));
    }),
  );
}

/** D's accuracy: reals scored > 0 and fakes < 0, on a fresh batch of each. */
async function discriminatorAccuracy(trainer: GanTrainer, rng: RandomState): Promise<number> {
  const n = trainer.config.batchSize;
  const real = await readAndDispose(tf.tidy(() => discriminate(trainer.D, trainer.config, flatBatch(rng, n))));
  const fake = await readAndDispose(
    tf.tidy(() => {
      const z = tf.tensor2d(rng.randnF32(n * trainer.config.zDim), [n, trainer.config.zDim]);
      const img = generate(trainer.G, trainer.config, z, 1, { noiseMode: 'random', noiseSeed: () => rng.uint32() });
      return discriminate(trainer.D, trainer.config, img);
    }),
  );
  let right = 0;
  for (const v of real) if (v > 0) right++;
  for (const v of fake) if (v < 0) right++;
  return right / (2 * n);
}

test('no step type leaks tensors (augmentation and style mixing on)', async () => {
  const trainer = new GanTrainer(micro({ ada: { target: 0.6, interval: 4, kimg: 100, initialP: 0.5 } }), 3);
  const reals = flatBatch(new RandomState(1), 4);
  await trainer.trainStep(reals); // warm-up: first-use allocations
  for (const phase of ['Gmain', 'Greg', 'Dmain', 'Dreg'] as PhaseName[]) {
    trainer.counters.step = 0; // every phase is due at step 0
    const before = tf.memory().numTensors;
    const report = await trainer.trainStep(reals, [phase]);
    assert.deepEqual(report.phases, [phase]);
    assert.equal(tf.memory().numTensors, before, `${phase} leaked ${tf.memory().numTensors - before} tensors`);
  }
  const before = tf.memory().numTensors;
  trainer.counters.step = 0;
  await trainer.trainStep(reals);
  assert.equal(tf.memory().numTensors, before, 'a full step leaked');
  // Reading the statistics frees their running sums; the next step makes them again.
  const stats = await trainer.takeStats();
  assert.equal(stats.steps, 6);
  assert.ok([stats.lossG, stats.lossD, stats.r1Penalty, stats.plPenalty].every((v) => Number.isFinite(v)));
  assert.equal(tf.memory().numTensors, before - 6, 'six running sums freed');
  reals.dispose();
  trainer.dispose();
});

test('learning happens: on two flat colours, G moves toward the data and D learns to tell them apart', async () => {
  const trainer = new GanTrainer(micro({ batchSize: 8 }), 11);
  const rng = new RandomState(5);
  const accRng = new RandomState(6);
  const startDistance = await distanceToData(trainer);
  const startAccuracy = await discriminatorAccuracy(trainer, accRng);
  let sawR1 = false;
  let sawPl = false;
  for (let i = 0; i < 250; i++) {
    const reals = flatBatch(rng, 8);
    await trainer.trainStep(reals);
    reals.dispose();
    if (i % 10 === 9) {
      const r = await trainer.takeStats(); // means over ten steps, as a tick would read them
      assert.ok(Number.isFinite(r.lossG) && Number.isFinite(r.lossD), `steps to ${i}: losses finite`);
      sawR1 ||= r.r1Penalty !== null;
      sawPl ||= r.plPenalty !== null;
    }
  }
  const endDistance = await distanceToData(trainer);
  let accuracy = 0;
  for (let k = 0; k < 4; k++) accuracy += (await discriminatorAccuracy(trainer, accRng)) / 4;
  console.log(
    `learning: distance to data ${startDistance.toFixed(3)} → ${endDistance.toFixed(3)}, D accuracy ${startAccuracy.toFixed(2)} → ${accuracy.toFixed(2)}`,
  );
  assert.ok(sawR1 && sawPl, 'R1 and path length ran');
  assert.ok(
    endDistance < startDistance * 0.5,
    `distance to the data colours fell from ${startDistance.toFixed(3)} to ${endDistance.toFixed(3)}`,
  );
  assert.ok(accuracy > Math.max(0.6, startAccuracy), `D accuracy ${startAccuracy.toFixed(2)} → ${accuracy.toFixed(2)}`);
  assert.equal(trainer.counters.imagesSeen, 250 * 8);
  assert.ok(trainer.counters.augmentP > 0, 'a confident D made ADA raise p');
  trainer.dispose();
});

async function allValues(t: GanTrainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const set of [t.G, t.G_ema, t.D]) for (const [k, v] of await set.exportRef()) out.set(k, v.data);
  for (const [label, opt] of [
    ['G', t.optG],
    ['D', t.optD],
  ] as const) {
    for (const kind of ['m', 'v'] as const)
      for (const [i, v] of opt[kind].entries()) out.set(`${label}.${kind}.${i}`, (await v.data()) as Float32Array);
  }
  return out;
}

test('checkpoint round trip is bit-exact: weights, moments, counters, RNG', async () => {
  const trainer = new GanTrainer(micro({ ada: { target: 0.6, interval: 1, kimg: 1, initialP: 0.2 } }), 4);
  const rng = new RandomState(8);
  for (let i = 0; i < 3; i++) {
    const reals = flatBatch(rng, 4);
    await trainer.trainStep(reals);
    reals.dispose();
  }
  const file = join(tmp.dir, 'round.safetensors');
  await saveCheckpoint(trainer, file);
  const loaded = await loadCheckpoint(file);
  const [a, b] = [await allValues(trainer), await allValues(loaded)];
  assert.equal(a.size, b.size);
  for (const [k, v] of a) assert.ok(Buffer.from(v.buffer).equals(Buffer.from(b.get(k)!.buffer)), `${k} differs`);
  assert.deepEqual(loaded.counters, trainer.counters);
  assert.ok(trainer.counters.augmentP > 0 && trainer.counters.adamStepG > 0, 'state worth saving');
  assert.deepEqual(loaded.rng.snapshot(), trainer.rng.snapshot());
  assert.deepEqual(loaded.config, trainer.config);
  trainer.dispose();
  loaded.dispose();
});

test('N steps straight equal N/2 steps, save, load, N/2 steps — every weight and moment identical', async () => {
  const config = micro({ ada: { target: 0.6, interval: 2, kimg: 1, initialP: 0.1 } });
  const batches = (() => {
    const rng = new RandomState(12);
    return Array.from({ length: 6 }, () => flatBatch(rng, 4));
  })();
  const straight = new GanTrainer(config, 9);
  for (const b of batches) await straight.trainStep(b);
  const first = new GanTrainer(config, 9);
  for (const b of batches.slice(0, 3)) await first.trainStep(b);
  const file = join(tmp.dir, 'half.safetensors');
  await saveCheckpoint(first, file);
  first.dispose();
  const resumed = await loadCheckpoint(file);
  for (const b of batches.slice(3)) await resumed.trainStep(b);
  const [a, b] = [await allValues(straight), await allValues(resumed)];
  for (const [k, v] of a)
    assert.ok(Buffer.from(v.buffer).equals(Buffer.from(b.get(k)!.buffer)), `${k} differs after resume`);
  assert.deepEqual(await resumed.syncCounters(), await straight.syncCounters());
  assert.ok(straight.counters.plMean > 0, 'the path-length mean moved (and was compared)');
  tf.dispose(batches);
  straight.dispose();
  resumed.dispose();
});

test('a corrupted or truncated checkpoint is refused with a clear error', async () => {
  const trainer = new GanTrainer(micro(), 1);
  const file = join(tmp.dir, 'good.safetensors');
  await saveCheckpoint(trainer, file);
  trainer.dispose();
  const good = readFileSync(file);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1000]! ^= 0x01; // one bit in the data
  writeFileSync(join(tmp.dir, 'flipped.safetensors'), flipped);
  await assert.rejects(
    loadCheckpoint(join(tmp.dir, 'flipped.safetensors')),
    (err: unknown) => err instanceof CorruptCheckpointError && /checksum mismatch/.test(err.message),
  );
  const header = Buffer.from(good);
  const at = header.indexOf('\\"step\\":0'); // counters are JSON inside the JSON header
  assert.ok(at > 0);
  header.write('\\"step\\":7', at); // a counter in the metadata
  writeFileSync(join(tmp.dir, 'header.safetensors'), header);
  await assert.rejects(loadCheckpoint(join(tmp.dir, 'header.safetensors')), /checksum mismatch/);
  writeFileSync(join(tmp.dir, 'short.safetensors'), good.subarray(0, good.length - 4096));
  await assert.rejects(loadCheckpoint(join(tmp.dir, 'short.safetensors')), /truncated/);
  writeFileSync(join(tmp.dir, 'empty.safetensors'), Buffer.alloc(0));
  await assert.rejects(loadCheckpoint(join(tmp.dir, 'empty.safetensors')), /not a usable checkpoint/);
});

test('a generator exported from the reference (G_ema.* names, no Plumage metadata) loads for sampling and fine-tuning', async () => {
  const trainer = new GanTrainer(micro({ mappingLayers: 3 }), 2);
  const exported = await trainer.G_ema.exportRef();
  const file = join(tmp.dir, 'reference-export.safetensors');
  await writeSafetensors(
    file,
    [...exported].map(([name, { spec, data }]) => ({ name, shape: spec.refShape, data: () => data })),
    { format: 'pt' },
  );
  // … as the start of a fine-tuning run: G and G_ema from the file, a fresh D, and it trains.
  const tuned = await trainerFromGenerator(file, 3, { batchSize: 4 });
  assert.deepEqual(
    await sampleSeeds(tuned.G, tuned.config, [5], 1, 'const'),
    await sampleSeeds(trainer.G_ema, trainer.config, [5], 1, 'const'),
  );
  await tuned.trainStep(flatBatch(new RandomState(2), 4));
  assert.ok(Number.isFinite((await tuned.takeStats()).lossG));
  tuned.dispose();
  // another resolution (the dataset's): the blocks that match are kept, the new top block starts fresh
  const { trainer: wider, report } = await trainerFromNetworkFile(file, 3, { resolution: 32, batchSize: 4 });
  assert.equal(wider.config.resolution, 32);
  assert.ok(report.kept.includes('G.mapping') && report.kept.includes('G.synthesis.b8'), report.kept.join());
  assert.ok(report.fresh.includes('G.synthesis.b32') && report.fresh.includes('D.b32'), report.fresh.join());
  wider.dispose();
  const { config, G } = await loadGenerator(file);
  for (const k of [
    'resolution',
    'zDim',
    'wDim',
    'mappingLayers',
    'channelBase',
    'channelMax',
    'imgChannels',
  ] as const) {
    assert.deepEqual(config[k], trainer.config[k], k);
  }
  const ours = await sampleSeeds(trainer.G_ema, trainer.config, [0, 1], 0.7, 'const');
  const theirs = await sampleSeeds(G, config, [0, 1], 0.7, 'const');
  assert.deepEqual(theirs, ours);
  G.dispose();
  trainer.dispose();
});

test('CLI: init writes a seeded checkpoint; generate writes seedNNNN.png as the reference would', async () => {
  const ckpt = join(tmp.dir, 'cli.safetensors');
  const init = await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '5', '--out', ckpt]);
  assert.match(init.stdout, /wrote .*cli\.safetensors .*preset tiny, seed 5/);
  const again = join(tmp.dir, 'cli-again.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '5', '--out', again]);
  assert.ok(readFileSync(ckpt).equals(readFileSync(again)), 'the same seed writes the same file');
  const out = join(tmp.dir, 'samples');
  await run(process.execPath, [CLI, 'generate', '--checkpoint', ckpt, '--seeds', '0-2', '--psi', '0.5', '--out', out]);
  const { config, G } = await loadGenerator(ckpt);
  const expected = await sampleSeeds(G, config, [0, 1, 2], 0.5, 'const');
  for (const [i, seed] of ['0000', '0001', '0002'].entries()) {
    const { data, info } = await sharp(join(out, `seed${seed}.png`))
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [32, 32, 3]);
    assert.ok(data.equals(Buffer.from(expected[i]!)), `seed${seed}.png pixels`);
  }
  G.dispose();
  await assert.rejects(
    run(process.execPath, [CLI, 'init', '--preset', 'huge', '--out', ckpt]),
    /--preset must be one of tiny, 64, 128, 256, 512, 1024/,
  );
  await assert.rejects(
    run(process.execPath, [CLI, 'generate', '--checkpoint', join(tmp.dir, 'nope.safetensors'), '--out', out]),
    /no such file: .*nope\.safetensors/,
  );
});

test('pixels are uint8(clamp(x·127.5 + 128)), truncated', async () => {
  const { toUint8 } = await import('../../main/core/gan/sample.js');
  assert.deepEqual(
    Array.from(toUint8(Float32Array.from([-1, 1, 0, -2, 2, 0.999, -0.00392]))),
    [0, 255, 128, 0, 255, 255, 127],
  );
});
