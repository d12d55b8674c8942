import { test } from 'node:test';
import assert from 'node:assert/strict';
import { framePositions, lerp, slerp } from '../../main/core/gallery/interpolate.js';
import { mixIndices, mixRange } from '../../main/core/gallery/mixing.js';
import { binomialName, whyBadName } from '../../main/core/gallery/names.js';
import { batchSizeFor } from '../../main/core/gallery/render.js';

const f32 = (...v: number[]) => Float32Array.from(v);
const close = (a: Float32Array, b: number[], what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('lerp: a + t(b − a), hand-computed', () => {
  close(lerp(f32(1, 2, 3), f32(3, 2, -1), 0.25), [1.5, 2, 2], 't = 0.25');
  close(lerp(f32(1, 2, 3), f32(3, 2, -1), 0), [1, 2, 3], 't = 0 is a');
  close(lerp(f32(1, 2, 3), f32(3, 2, -1), 1), [3, 2, -1], 't = 1 is b');
  assert.throws(() => lerp(f32(1), f32(1, 2), 0.5), /differ in length/);
});

test('slerp: along the great circle, hand-computed', () => {
  close(slerp(f32(1, 0), f32(0, 1), 0.5), [Math.SQRT1_2, Math.SQRT1_2], 'quarter circle, halfway');
  close(slerp(f32(1, 0), f32(0, 1), 1 / 3), [Math.sqrt(3) / 2, 0.5], 'a third of 90° is 30°');
  // Not unit length: Ω is still 90°, the weights sin((1−t)Ω)/sinΩ = sin(tΩ)/sinΩ = √½ scale each vector.
  close(slerp(f32(2, 0), f32(0, 2), 0.5), [Math.SQRT2, Math.SQRT2], 'length 2');
  close(slerp(f32(1, 0, 0), f32(0, 1, 0), 0), [1, 0, 0], 't = 0 is a');
  close(slerp(f32(1, 0, 0), f32(0, 1, 0), 1), [0, 1, 0], 't = 1 is b');
  // Ω = 120°: at t = 0.5, weights sin60°/sin120° = 1 each → a + b.
  close(slerp(f32(1, 0), f32(-0.5, Math.sqrt(3) / 2), 0.5), [0.5, Math.sqrt(3) / 2], '120°');
  close(slerp(f32(1, 1), f32(2, 2), 0.5), [1.5, 1.5], 'parallel vectors fall back to lerp');
  close(slerp(f32(0, 0), f32(2, 2), 0.5), [1, 1], 'a zero vector falls back to lerp');
});

test('frame positions: the ends land exactly on the key frames', () => {
  assert.deepEqual(framePositions(2, 3), [
    { segment: 0, t: 0 },
    { segment: 0, t: 0.5 },
    { segment: 0, t: 1 },
  ]);
  assert.deepEqual(framePositions(3, 5), [
    { segment: 0, t: 0 },
    { segment: 0, t: 0.5 },
    { segment: 1, t: 0 },
    { segment: 1, t: 0.5 },
    { segment: 1, t: 1 },
  ]);
  assert.throws(() => framePositions(1, 5), /at least two key frames/);
  assert.throws(() => framePositions(3, 2), /at least 3 frames/);
});

test('style-mix ranges: presets, ranges, and the ws each covers', () => {
  assert.equal(mixRange('coarse', 256), '4-8');
  assert.equal(mixRange('middle', 256), '16-32');
  assert.equal(mixRange('fine', 256), '64-256');
  assert.equal(mixRange('8-16', 32), '8-16');
  assert.deepEqual(mixIndices('4-8', 256), [0, 1, 2, 3]);
  assert.deepEqual(mixIndices('16-32', 256), [4, 5, 6, 7]);
  assert.deepEqual(mixIndices('64-256', 256), [8, 9, 10, 11, 12, 13], 'numWs(256) = 14');
  assert.deepEqual(mixIndices('16-32', 32), [4, 5, 6, 7], 'the last toRGB belongs to 32²');
  assert.throws(() => mixRange('fine', 32), /32² generator has no fine layers/);
  assert.throws(() => mixRange('4-32', 32), /covers every layer/);
  assert.throws(() => mixRange('3-8', 256), /both ends must be resolutions/);
  assert.throws(() => mixRange('16-8', 256), /first resolution is above the last/);
  assert.throws(() => mixRange('4-512', 256), /goes past this generator's 256²/);
  assert.throws(() => mixRange('wings', 256), /coarse, middle, fine or a range like 4-8/);
});

test('binomial names: deterministic per seed, varied, Latin-shaped, genders agreeing', () => {
  assert.equal(binomialName(42), binomialName(42));
  assert.notEqual(binomialName(42, 7), binomialName(42), 'a mix gets its own name');
  const names = new Set(Array.from({ length: 200 }, (_, s) => binomialName(s)));
  assert.ok(names.size > 150, `200 seeds give ${names.size} names`);
  for (const s of [0, 1, 2, 0xffffffff, 123456789]) {
    const name = binomialName(s);
    assert.match(name, /^[A-Z][a-z]+ [a-z]+$/, name);
    const [genus, epithet] = name.split(' ') as [string, string];
    if (/(a|ella|ula|ina|ornis|icola)$/.test(genus)) assert.match(epithet, /a$/, `${name}: feminine`);
    if (/us$/.test(genus)) assert.match(epithet, /us$/, `${name}: masculine`);
    if (/ium$/.test(genus)) assert.match(epithet, /um$/, `${name}: neuter`);
  }
  assert.equal(whyBadName('Avis fictitia'), null);
  assert.equal(whyBadName('Ptérodactyle ünïcode 鳥'), null, 'any letters');
  assert.match(whyBadName('  ')!, /needs a name/);
  assert.match(whyBadName('a\nb')!, /control characters/);
  assert.match(whyBadName('x'.repeat(201))!, /at most 200/);
});

test('a grid page is drawn in batches bounded by pixels: 8 birds at 32² and 64², 2 at 128², 1 from 256²', () => {
  assert.deepEqual(
    [32, 64, 128, 256, 512, 1024].map((r) => batchSizeFor(r)),
    [8, 8, 2, 1, 1, 1],
  );
});
