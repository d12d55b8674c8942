import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decisiveSide, parseHexColour, planSquare } from '../../main/core/dataset/geometry.js';

test('centre crop of a portrait: short side to R, window centred vertically', () => {
  // 2000×2429 → scale 256/2000 → 256×310.9 → 311; (311-256)/2 = 27.5 → 27
  assert.deepEqual(planSquare({ width: 2000, height: 2429 }, 256, 'centre'), {
    mode: 'crop',
    resize: { width: 256, height: 311 },
    left: 0,
    top: 27,
  });
});

test('centre crop of a landscape: window centred horizontally', () => {
  // 3392×2000 → 512/2000 → 868.35 → 868 × 512; (868-512)/2 = 178
  assert.deepEqual(planSquare({ width: 3392, height: 2000 }, 512, 'centre'), {
    mode: 'crop',
    resize: { width: 868, height: 512 },
    left: 178,
    top: 0,
  });
});

test('centre crop of a square is a plain resize', () => {
  assert.deepEqual(planSquare({ width: 300, height: 300 }, 64, 'centre'), {
    mode: 'crop',
    resize: { width: 64, height: 64 },
    left: 0,
    top: 0,
  });
});

test('subject mode resizes to cover and leaves placement to the attention strategy', () => {
  assert.deepEqual(planSquare({ width: 2000, height: 2429 }, 256, 'subject'), {
    mode: 'attention',
    resize: { width: 256, height: 311 },
  });
  assert.deepEqual(planSquare({ width: 100, height: 100 }, 64, 'subject'), {
    mode: 'attention',
    resize: { width: 64, height: 64 },
  });
});

test('pad mode fits the long side and splits the margin (odd remainder at the far side)', () => {
  // portrait 2000×2429 at 256: 256/2429 → 210.8 → 211 × 256; pad 45 → 22 left, 23 right
  assert.deepEqual(planSquare({ width: 2000, height: 2429 }, 256, 'pad'), {
    mode: 'pad',
    resize: { width: 211, height: 256 },
    left: 22,
    right: 23,
    top: 0,
    bottom: 0,
  });
  // landscape 300×100 at 64: 64×21.33 → 21; pad 43 → 21 top, 22 bottom
  assert.deepEqual(planSquare({ width: 300, height: 100 }, 64, 'pad'), {
    mode: 'pad',
    resize: { width: 64, height: 21 },
    left: 0,
    right: 0,
    top: 21,
    bottom: 22,
  });
  assert.deepEqual(planSquare({ width: 90, height: 90 }, 64, 'pad'), {
    mode: 'pad',
    resize: { width: 64, height: 64 },
    left: 0,
    right: 0,
    top: 0,
    bottom: 0,
  });
});

test('extreme aspect ratios never produce a window smaller than R', () => {
  const p = planSquare({ width: 10_000, height: 64 }, 64, 'centre');
  assert.equal(p.mode, 'crop');
  assert.equal(p.resize.height, 64);
  assert.ok(p.mode === 'crop' && p.left + 64 <= p.resize.width);
  const q = planSquare({ width: 10_000, height: 20 }, 64, 'pad');
  assert.ok(q.mode === 'pad' && q.resize.height >= 1 && q.top + q.bottom + q.resize.height === 64);
});

test('the decisive side is the short one when cropping and the long one when padding', () => {
  assert.equal(decisiveSide({ width: 100, height: 300 }, 'centre'), 100);
  assert.equal(decisiveSide({ width: 100, height: 300 }, 'subject'), 100);
  assert.equal(decisiveSide({ width: 100, height: 300 }, 'pad'), 300);
});

test('invalid sizes and colours are refused', () => {
  assert.throws(() => planSquare({ width: 0, height: 10 }, 64, 'centre'), /invalid image size/);
  assert.deepEqual(parseHexColour('#F5f1e6'), { r: 245, g: 241, b: 230 });
  assert.throws(() => parseHexColour('white'), /#rrggbb/);
});
