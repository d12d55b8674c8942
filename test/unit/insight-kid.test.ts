import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomState } from '../../main/core/gan/rng.js';
import { kernelInceptionDistance } from '../../main/core/insight/kid.js';
import { memorisation, nearestNeighbours } from '../../main/core/insight/nearest.js';
import { backendReady } from '../helpers/gan.js';

const D = 16;
/** n rows of a d-dimensional Gaussian with the given mean, like pooled features (positive-ish). */
function sample(rng: RandomState, n: number, mean = 1, sd = 0.5, d = D): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < out.length; i++) out[i] = mean + sd * rng.gauss();
  return out;
}

test('KID of two samples of one distribution is unbiased: the estimates straddle 0', async () => {
  await backendReady;
  const rng = new RandomState(7);
  const kids: number[] = [];
  for (let t = 0; t < 12; t++) {
    const r = await kernelInceptionDistance(sample(rng, 60), sample(rng, 80), { d: D, subsets: 20, seed: t });
    kids.push(r.kid);
  }
  assert.ok(kids.some((k) => k < 0) && kids.some((k) => k > 0), `estimates ${kids.map((k) => k.toFixed(5))}`);
  const mean = kids.reduce((a, b) => a + b, 0) / kids.length;
  const sd = Math.sqrt(kids.reduce((a, b) => a + (b - mean) ** 2, 0) / (kids.length - 1));
  assert.ok(Math.abs(mean) < (3 * sd) / Math.sqrt(kids.length), `mean ${mean} is ${mean / sd}·sd from 0`);
});

test('KID of a set against itself (one part against the other) is ≈ 0 within its spread', async () => {
  await backendReady;
  const rng = new RandomState(3);
  const set = sample(rng, 160);
  // The same set split: 100 as "generated", 60 as "real" (subsets of 60 vary on the first side).
  const self = await kernelInceptionDistance(set.subarray(0, 100 * D), set.subarray(100 * D), { d: D, subsets: 50 });
  const shifted = await kernelInceptionDistance(set.subarray(0, 100 * D), sample(rng, 60, 1.3), { d: D, subsets: 50 });
  assert.equal(self.subsetSize, 60);
  assert.ok(self.kidStd > 0);
  assert.ok(Math.abs(self.kid) <= 2 * self.kidStd, `itself ${self.kid} ± ${self.kidStd}`);
  assert.ok(shifted.kid > 10 * self.kidStd, `a shifted distribution scores ${shifted.kid}, itself ${self.kid}`);
});

test('KID grows with the distance between the distributions', async () => {
  await backendReady;
  const rng = new RandomState(5);
  const x = sample(rng, 100);
  const kids: number[] = [];
  for (const shift of [0, 0.1, 0.3, 0.6, 1.0])
    kids.push((await kernelInceptionDistance(x, sample(rng, 100, 1 + shift), { d: D, subsets: 20 })).kid);
  for (let i = 1; i < kids.length; i++) assert.ok(kids[i]! > kids[i - 1]!, `not increasing: ${kids}`);
});

test('KID refuses fewer than 2 images a side', async () => {
  await backendReady;
  await assert.rejects(kernelInceptionDistance(new Float32Array(D), new Float32Array(4 * D), { d: D }), /at least 2/);
});

test('nearest neighbours: a copy is at distance 0 and first; memorisation flags copies only', async () => {
  await backendReady;
  const rng = new RandomState(11);
  const reals = sample(rng, 30);
  const copy = reals.slice(7 * D, 8 * D);
  const fresh = sample(rng, 1);
  const queries = new Float32Array([...copy, ...fresh]);
  const [mine, theirs] = await nearestNeighbours(queries, reals, 3, D);
  assert.deepEqual(mine![0], { index: 7, distance: 0 });
  assert.ok(mine![1]!.distance >= mine![0]!.distance && mine![2]!.distance >= mine![1]!.distance);
  assert.ok(theirs![0]!.distance > 0);
  const mem = await memorisation(queries, reals, D);
  assert.deepEqual(mem.flagged, [true, false]);
  assert.equal(mem.rate, 0.5);
  // Fresh images of the data's own distribution are not copies.
  const fresh50 = await memorisation(sample(rng, 50), reals, D);
  assert.ok(fresh50.rate <= 0.1, `fresh samples flagged at ${fresh50.rate}`);
  // A copy with a small change still is one.
  const nudged = copy.map((v, i) => v + (i % 2 ? 0.02 : -0.02));
  assert.deepEqual((await memorisation(nudged, reals, D)).flagged, [true]);
});
