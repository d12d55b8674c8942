/**
 * The training step held to the reference (NVlabs stylegan2-ada-pytorch): on fixed weights and
 * inputs, each phase's loss and gradients — R1's and path length's double backward included —
 * equal the numbers its own loss code computed (test/fixtures/reference-step.json, written by
 * scripts/reference/step_fixture.py; no Python needed here).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendReady } from '../helpers/gan.js';
import {
  HeldTrainer,
  PHASES,
  fixtureValues,
  heldPhase,
  heldRun,
  referenceFixture,
  type GradSummary,
  type HeldPhase,
  type ReferencePhase,
} from '../helpers/reference-step.js';
import type { PhaseName, StatName } from '../../main/core/gan/training.js';

before(async () => {
  await backendReady;
});

const mean = (v: number[] | undefined): number | null => (v ? v.reduce((a, b) => a + b, 0) / v.length : null);

/** The reference's reported statistics under Plumage's names (both are means over the batch). */
function referenceStats(r: ReferencePhase): Partial<Record<StatName, number | null>> {
  return {
    lossG: mean(r.stats['Loss/G/loss']),
    lossD: mean(r.stats['Loss/D/loss']),
    r1Penalty: mean(r.stats['Loss/r1_penalty']),
    plPenalty: mean(r.stats['Loss/pl_penalty']),
    scoreFake: mean(r.stats['Loss/scores/fake']),
    scoreReal: mean(r.stats['Loss/scores/real']),
  };
}

/**
 * Compares a phase with the reference's and returns the worst errors. Float32 sums in another
 * order differ in the last bits: losses to 1e-5 relative, each gradient's norm to 1e-4
 * relative, its sum and entries to 1e-3 of its scale (a wrong term is off by its whole size).
 */
function compare(phase: PhaseName, ours: HeldPhase, ref: ReferencePhase): { norm: number; entry: number } {
  for (const [name, want] of Object.entries(referenceStats(ref))) {
    const got = ours.stats[name as StatName];
    if (want === null) continue;
    assert.ok(got !== null, `${phase}: ${name} was not reported`);
    assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want), `${phase}: ${name} ${got}, reference ${want}`);
  }
  if (ref.pl_mean_after !== undefined)
    assert.ok(Math.abs(ours.plMean - ref.pl_mean_after) <= 1e-6, `pl_mean ${ours.plMean}, ${ref.pl_mean_after}`);
  let worstNorm = 0;
  let worstEntry = 0;
  const largest = Math.max(...Object.values(ref.grads).map((g) => g.norm));
  for (const [name, want] of Object.entries(ref.grads)) {
    const g = ours.grads.get(name);
    if (!g) {
      // No path from the parameter to the loss: tfjs gives none, the reference an exact zero.
      assert.equal(want.norm, 0, `${phase}: no gradient for ${name}, whose reference norm is ${want.norm}`);
      continue;
    }
    let sq = 0;
    let sum = 0;
    for (const v of g) {
      sq += v * v;
      sum += v;
    }
    const norm = Math.sqrt(sq);
    if (want.norm === 0) {
      // A path that only switches leaky ReLU branches (R1 for the biases after minibatch stddev).
      assert.ok(norm <= 1e-6 * largest, `${phase}: ‖∇${name}‖ = ${norm}, reference 0`);
      continue;
    }
    const relNorm = Math.abs(norm - want.norm) / want.norm;
    assert.ok(relNorm <= 1e-4, `${phase}: ‖∇${name}‖ = ${norm}, reference ${want.norm}`);
    const scale = want.norm / Math.sqrt(g.length); // the gradient's root mean square
    assert.ok(Math.abs(sum - want.sum) <= 1e-3 * want.norm * Math.sqrt(g.length), `${phase}: Σ∇${name}`);
    for (const [i, v] of want.entries) {
      const err = Math.abs(g[i]! - v) / scale;
      assert.ok(err <= 1e-3, `${phase}: ∇${name}[${i}] = ${g[i]}, reference ${v}`);
      worstEntry = Math.max(worstEntry, err);
    }
    worstNorm = Math.max(worstNorm, relNorm);
  }
  return { norm: worstNorm, entry: worstEntry };
}

test("each phase's loss and gradients equal the reference's on fixed weights and inputs", async (t) => {
  const fixture = referenceFixture();
  const trainer = new HeldTrainer(fixture);
  const reals = trainer.reals();
  try {
    for (const phase of PHASES) {
      const worst = compare(phase, await heldPhase(trainer, phase, reals), fixture.phases[phase]);
      t.diagnostic(
        `${phase}: gradient norms within ${worst.norm.toExponential(1)}, entries ${worst.entry.toExponential(1)}`,
      );
    }
  } finally {
    reals.dispose();
    trainer.dispose();
  }
});

test('in rounds (D in rounds of 4, path length in two passes over rounds of 2) the same numbers', async () => {
  const fixture = referenceFixture();
  for (const [phases, batchGpu] of [
    [['Gmain', 'Dmain', 'Dreg'], 4],
    [['Greg'], 2], // D's minibatch-stddev groups of 4 forbid rounds of 2 wherever D runs
  ] as [PhaseName[], number][]) {
    const trainer = new HeldTrainer(fixture, { batchGpu });
    const reals = trainer.reals();
    try {
      assert.ok(trainer.perRound < fixture.config.batch && trainer.plPerRound === batchGpu);
      for (const phase of phases) compare(phase, await heldPhase(trainer, phase, reals), fixture.phases[phase]);
    } finally {
      reals.dispose();
      trainer.dispose();
    }
  }
});

/** Relative differences of two runs' per-tensor change norms, from the reference's run summaries. */
function changeErrors(want: Record<string, GradSummary>, got: Map<string, Float32Array>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, w] of Object.entries(want)) {
    const d = got.get(name);
    assert.ok(d, `the run has no ${name}`);
    let sq = 0;
    for (const v of d) sq += v * v;
    const norm = Math.sqrt(sq);
    if (w.norm === 0) assert.equal(norm, 0, `${name} changed in our run, not in the reference's`);
    else out.set(name, Math.abs(norm - w.norm) / w.norm);
  }
  return out;
}

test('a fresh run of 8 steps follows the reference: losses, pl_mean, and what Adam, w_avg and G_ema changed', async (t) => {
  const fixture = referenceFixture();
  const { steps, trainer } = await heldRun(fixture);
  try {
    // Tolerances from the reference against itself with every weight scaled by 1 + 1e-7·N(0,1)
    // (step_fixture.py --perturb): Adam's first steps follow the signs of small gradient entries,
    // so rounding alone moves step 7's losses by 0.4%, pl_mean by 0.1%, a change's norm by 0.2%
    // (median over tensors; G_ema's 2e-4) and up to 5% (the noise strengths). A wrong learning
    // rate, decay or half-life moves them by its own size.
    steps.forEach((ours, k) => {
      const ref = fixture.run.steps[k]!;
      for (const [phase, r] of Object.entries(ref.phases)) {
        for (const [name, want] of Object.entries(referenceStats(r))) {
          if (want === null || name.startsWith('score')) continue; // scores: one phase's, not the step's
          const got = ours.stats[name as StatName];
          assert.ok(got !== null && Math.abs(got - want) <= 2e-2 * Math.abs(want), `step ${k} ${phase}: ${name}`);
        }
      }
      assert.ok(Math.abs(ours.plMean - ref.pl_mean) <= 1e-2 * ref.pl_mean, `step ${k}: pl_mean`);
    });
    const changes = new Map<string, Float32Array>();
    for (const net of [trainer.G, trainer.D, trainer.G_ema])
      for (const [name, { spec, data }] of await net.exportRef()) {
        if (spec.init === 'filter') continue;
        const start = fixtureValues(name.replace(/^G_ema\./, 'G.'), data.length);
        changes.set(
          name,
          data.map((v, i) => v - start[i]!),
        );
      }
    const errors = changeErrors(fixture.run.changes, changes);
    for (const net of ['G.', 'D.', 'G_ema.']) {
      const rel = [...errors].filter(([name]) => name.startsWith(net)).map(([, e]) => e);
      rel.sort((a, b) => a - b);
      const median = rel[Math.floor(rel.length / 2)]!;
      t.diagnostic(`${net} changes: median ${median.toExponential(1)}, largest ${rel.at(-1)!.toExponential(1)}`);
      // G_ema averages the steps, and the reference's rounding moves it by 2e-4 (median): a half-life
      // 10% off moves it by 3e-3.
      const bound = net === 'G_ema.' ? 1e-3 : 1e-2;
      assert.ok(median <= bound, `${net} the median change differs by ${median}`);
    }
    for (const [name, e] of errors) assert.ok(e <= 0.2, `${name} changed by ${e} more or less than the reference`);
  } finally {
    trainer.dispose();
  }
});
