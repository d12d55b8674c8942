import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RandomState, seedToZ } from '../../main/core/gan/rng.js';
import { parseSeeds } from '../../main/core/gan/sample.js';
import { FIXTURES } from '../helpers/paths.js';

interface Vector {
  first8: number[];
  sum: number;
  sum_sq: number;
  all?: number[];
}
const vectors = JSON.parse(readFileSync(join(FIXTURES, 'seed-vectors.json'), 'utf8')) as {
  seeds: Record<string, Vector>;
};

test('z of a seed equals numpy.random.RandomState(seed).randn(1, 512) for every test vector', () => {
  assert.ok(Object.keys(vectors.seeds).length >= 5);
  for (const [seed, v] of Object.entries(vectors.seeds)) {
    const z = new RandomState(Number(seed)).randn(512);
    v.first8.forEach((x, i) => assert.ok(Math.abs(z[i]! - x) < 1e-14, `seed ${seed} z[${i}]`));
    const sum = z.reduce((a, b) => a + b, 0);
    const sumSq = z.reduce((a, b) => a + b * b, 0);
    assert.ok(Math.abs(sum - v.sum) < 1e-9, `seed ${seed} sum ${sum} vs ${v.sum}`);
    assert.ok(Math.abs(sumSq - v.sum_sq) < 1e-9, `seed ${seed} sum of squares`);
    if (v.all) v.all.forEach((x, i) => assert.ok(Math.abs(z[i]! - x) < 1e-14, `seed ${seed} z[${i}]`));
  }
  assert.equal(seedToZ(42).length, 512);
  assert.equal(seedToZ(42)[3], Math.fround(vectors.seeds['42']!.first8[3]!));
});

test('a restored snapshot continues the exact sequence, cached Gaussian included', () => {
  const a = new RandomState(123);
  a.gauss(); // leaves the second polar value cached
  const snap = JSON.parse(JSON.stringify(a.snapshot()));
  const b = RandomState.restore(snap);
  for (let i = 0; i < 1000; i++) assert.equal(b.gauss(), a.gauss());
  assert.equal(b.uint32(), a.uint32());
});

test('seeds outside 0..2^32-1 are refused; seed lists parse', () => {
  assert.throws(() => new RandomState(-1), /seed must be/);
  assert.throws(() => new RandomState(2 ** 32), /seed must be/);
  assert.deepEqual(parseSeeds('0-3'), [0, 1, 2, 3]);
  assert.deepEqual(parseSeeds('7,1-2, 9'), [7, 1, 2, 9]);
  assert.throws(() => parseSeeds('3-1'), /bad seed range/);
  assert.throws(() => parseSeeds('a'), /seeds must look like/);
});
