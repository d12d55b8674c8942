import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  PRESET_NAMES,
  blockResolutions,
  channelsAt,
  numWs,
  presetConfig,
  type GanConfig,
} from '../../main/core/gan/config.js';
import { discriminate, discriminatorSpecs } from '../../main/core/gan/discriminator.js';
import { generate, generatorSpecs } from '../../main/core/gan/generator.js';
import { resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues, refToTfjs, tfjsToRef, type ParamSpec } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { FIXTURES } from '../helpers/paths.js';
import { backendReady, valueOf } from '../helpers/gan.js';

before(() => backendReady);

const count = (specs: ParamSpec[]): number =>
  specs.filter((s) => s.trainable).reduce((a, s) => a + s.refShape.reduce((x, y) => x * y, 1), 0);

/** The parameter count written out from the architecture, independently of the spec builders. */
function formulaCounts(c: GanConfig): { G: number; D: number } {
  const ch = (r: number): number => channelsAt(c, r);
  const w = c.wDim;
  let G = c.zDim * w + w + (c.mappingLayers - 1) * (w * w + w);
  const layer = (cin: number, cout: number): number => cout * cin * 9 + 1 + cout + w * cin + cin;
  const torgb = (cin: number): number => 3 * cin + 3 + w * cin + cin;
  for (const r of blockResolutions(c.resolution)) {
    G += r === 4 ? ch(4) * 16 + layer(ch(4), ch(4)) : layer(ch(r / 2), ch(r)) + layer(ch(r), ch(r));
    G += torgb(ch(r));
  }
  let D = ch(c.resolution) * 3 + ch(c.resolution);
  for (let r = c.resolution; r >= 8; r /= 2)
    D += ch(r) * ch(r) * 9 + ch(r) + ch(r / 2) * ch(r) * 9 + ch(r / 2) + ch(r / 2) * ch(r);
  D += ch(4) * (ch(4) + 1) * 9 + ch(4) + ch(4) * 16 * ch(4) + ch(4) + ch(4) + 1;
  return { G, D };
}

test('parameter counts match the architecture formula for every preset', () => {
  for (const name of PRESET_NAMES) {
    const c = presetConfig(name);
    assert.deepEqual({ G: count(generatorSpecs(c)), D: count(discriminatorSpecs(c)) }, formulaCounts(c), name);
  }
});

test("config F at 1024² has the reference's parameter totals (G 30,370,060; D 29,012,513)", () => {
  const c = presetConfig('1024', { channelBase: 32768, mappingLayers: 8 });
  assert.equal(count(generatorSpecs(c)), 30_370_060);
  assert.equal(count(discriminatorSpecs(c)), 29_012_513);
});

test('names and shapes equal the spec in docs/stylegan2-names.md (64², channel_base 16384, 8 mapping layers)', () => {
  const doc = readFileSync(join(FIXTURES, 'stylegan2-names.md'), 'utf8');
  const listed = [...doc.matchAll(/^([GD]\.[\w.]+)\t\[([\d, ]*)\]$/gm)]
    .map((m) => `${m[1]} [${m[2]!.replace(/\s/g, '')}]`)
    .sort();
  assert.ok(listed.length > 100, 'the doc lists the 64² example');
  const c = presetConfig('64', { mappingLayers: 8 });
  const ours = [
    ...generatorSpecs(c).map((s) => `G.${s.name} [${s.refShape.join(',')}]`),
    ...discriminatorSpecs(c).map((s) => `D.${s.name} [${s.refShape.join(',')}]`),
  ].sort();
  assert.deepEqual(ours, listed);
});

test('presets: R1 γ is 0.0002·res²/batch, channels halve with resolution, tiny is small', () => {
  for (const name of PRESET_NAMES) {
    const c = presetConfig(name);
    assert.ok(Math.abs(c.r1Gamma - (0.0002 * c.resolution ** 2) / c.batchSize) < 1e-12, name);
    assert.equal(numWs(c.resolution), 2 * (Math.log2(c.resolution) - 1));
  }
  assert.equal(presetConfig('tiny').resolution, 32);
  assert.ok(count(generatorSpecs(presetConfig('tiny'))) < 300_000);
  assert.throws(() => presetConfig('tiny', { resolution: 48 }), /power of two/);
});

test('layout conversions are exact inverses for every parameter kind', () => {
  const c = presetConfig('tiny', { resolution: 16 });
  const rng = new RandomState(3);
  for (const spec of [...generatorSpecs(c), ...discriminatorSpecs(c)]) {
    const ref = rng.randnF32(spec.refShape.reduce((a, b) => a * b, 1));
    assert.deepEqual(tfjsToRef(spec, refToTfjs(spec, ref)), ref, spec.name);
  }
});

test('the D fc weight maps NCHW flattening to NHWC: same logits as a reference-order computation', async () => {
  // One fc output over a [C=2,H=4,W=4] map: ref weight index c·16 + h·4 + w.
  const spec: ParamSpec = {
    name: 'fc',
    refShape: [1, 32],
    layout: 'fc-chw',
    chw: [2, 4, 4],
    init: 'randn',
    trainable: true,
  };
  const ref = Float32Array.from({ length: 32 }, (_, i) => i + 1);
  const nhwc = Float32Array.from({ length: 32 }, (_, i) => (i % 7) - 3); // feature map in H,W,C order
  let expected = 0;
  for (let ch = 0; ch < 2; ch++)
    for (let h = 0; h < 4; h++)
      for (let w = 0; w < 4; w++) expected += ref[ch * 16 + h * 4 + w]! * nhwc[(h * 4 + w) * 2 + ch]!;
  const got = await valueOf(tf.matMul(tf.tensor2d(nhwc, [1, 32]), tf.tensor2d(refToTfjs(spec, ref), [32, 1])));
  assert.equal(got, expected);
});

test('G and D produce the shapes the config promises; G_ema sampling is deterministic for const noise', async () => {
  const c = presetConfig('tiny');
  const rng = new RandomState(1);
  const filt = resampleFilter2d();
  const G = new ParamSet('G', generatorSpecs(c), (s) => initialValues(s, rng, filt));
  const D = new ParamSet('D', discriminatorSpecs(c), (s) => initialValues(s, rng, filt));
  const z = tf.tensor2d(new RandomState(0).randnF32(3 * c.zDim), [3, c.zDim]);
  const a = generate(G, c, z, 0.7, { noiseMode: 'const' });
  const b = generate(G, c, z, 0.7, { noiseMode: 'const' });
  assert.deepEqual(a.shape, [3, 32, 32, 3]);
  assert.deepEqual(await a.data(), await b.data());
  const logits = discriminate(D, { ...c, mbstdGroupSize: 4 }, tf.concat([a, b, a, b]) as tf.Tensor4D);
  assert.deepEqual(logits.shape, [12, 1]);
  G.dispose();
  D.dispose();
});
