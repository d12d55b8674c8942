import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symmetricEigen } from '../../main/core/insight/eigen.js';
import { computeDirections, convLayersOf } from '../../main/core/insight/directions.js';
import { generatorSpecs } from '../../main/core/gan/generator.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { resampleFilter2d } from '../../main/core/gan/ops.js';
import { backendReady, micro } from '../helpers/gan.js';

/** An independent decomposition: cyclic Jacobi rotations (slow, simple, obviously right). */
function jacobi(m: number[][]): { values: number[]; vectors: number[][] } {
  const n = m.length;
  const a = m.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p]![q]!) < 1e-15) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const [akp, akq] = [a[k]![p]!, a[k]![q]!];
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const [apk, aqk] = [a[p]![k]!, a[q]![k]!];
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const [vkp, vkq] = [v[k]![p]!, v[k]![q]!];
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
  }
  const order = a.map((_, i) => i).sort((i, j) => a[j]![j]! - a[i]![i]!);
  return { values: order.map((i) => a[i]![i]!), vectors: order.map((i) => v.map((row) => row[i]!)) };
}

test('the eigen-solver on a hand-checkable matrix: [[2,1],[1,2]] has 3 along (1,1)/√2 and 1 along (1,−1)/√2', () => {
  const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
  assert.ok(Math.abs(values[0]! - 3) < 1e-12 && Math.abs(values[1]! - 1) < 1e-12);
  const r = Math.SQRT1_2;
  assert.ok(Math.abs(vectors[0]! - r) < 1e-12 && Math.abs(vectors[1]! - r) < 1e-12);
  assert.ok(Math.abs(Math.abs(vectors[2]!) - r) < 1e-12 && Math.abs(vectors[2]! + vectors[3]!) < 1e-12);
  assert.throws(() => symmetricEigen([1, 2, 3, 4], 2), /not symmetric/);
});

test('the eigen-solver equals an independent Jacobi decomposition of the same matrix', () => {
  const rng = new RandomState(4);
  const n = 12;
  const b = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.gauss()));
  const m = b.map((_, i) => b.map((__, j) => b.reduce((s, row) => s + row[i]! * row[j]!, 0))); // BᵀB
  const ours = symmetricEigen(m.flat(), n);
  const theirs = jacobi(m);
  for (let k = 0; k < n; k++) {
    assert.ok(Math.abs(ours.values[k]! - theirs.values[k]!) < 1e-9 * theirs.values[0]!, `value ${k}`);
    // Vectors agree up to sign.
    const dot = theirs.vectors[k]!.reduce((s, x, i) => s + x * ours.vectors[k * n + i]!, 0);
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-9, `vector ${k}: |dot| ${Math.abs(dot)}`);
  }
});

test("SeFa's directions are orthonormal and are the eigenvectors of AᵀA of the chosen layers", async () => {
  await backendReady;
  const c = micro();
  const filter = resampleFilter2d();
  const G = new ParamSet('G', generatorSpecs(c), (s) => initialValues(s, new RandomState(9), filter));
  try {
    const d = await computeDirections({ config: c, G }, 'sefa', '8-16');
    const n = c.wDim;
    assert.equal(d.layers, '8-16');
    for (let i = 0; i < d.vectors.length; i++)
      for (let j = 0; j <= i; j++) {
        const dot = d.vectors[i]!.reduce((s, x, k) => s + x * d.vectors[j]![k]!, 0);
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-9, `⟨v${i}, v${j}⟩ = ${dot}`);
      }
    // The same matrix, built independently: rows of A are the layers' normalised style weights.
    const rows: number[][] = [];
    for (const name of convLayersOf(c.resolution, [2, 3, 4, 5])) {
      const w = (await G.get(`${name}.affine.weight`).data()) as Float32Array; // [wDim, cin]
      const cin = w.length / n;
      for (let o = 0; o < cin; o++) {
        const row = Array.from({ length: n }, (_, i) => w[i * cin + o]!);
        const norm = Math.hypot(...row);
        rows.push(row.map((x) => x / norm));
      }
    }
    // ws 2–5 are the 8² and 16² inputs by the style-mixing count; b8.conv0 reads ws 1 (a 4² input).
    assert.deepEqual(convLayersOf(c.resolution, [2, 3, 4, 5]), [
      'synthesis.b8.conv1',
      'synthesis.b16.conv0',
      'synthesis.b16.conv1',
    ]);
    const ata = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => rows.reduce((s, r) => s + r[i]! * r[j]!, 0)),
    );
    const ref = jacobi(ata);
    for (let k = 0; k < Math.min(4, d.vectors.length); k++) {
      assert.ok(Math.abs(d.strengths[k]! - ref.values[k]!) < 1e-6 * ref.values[0]!);
      const dot = ref.vectors[k]!.reduce((s, x, i) => s + x * d.vectors[k]![i]!, 0);
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-6, `direction ${k}: |dot| ${Math.abs(dot)}`);
    }
  } finally {
    G.dispose();
  }
});
