import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etaSeconds, recentSecPerKimg, trainingSeconds } from '../../preload/run-stats.js';

const tick = (kimg: number, secPerKimg: number | null = 100) => ({ kimg, secPerKimg });

test('training time counts the kimg each tick covers at its own speed, not the wall clock between ticks', () => {
  // 0.04 kimg per tick at 100 s/kimg = 4 s each; a 20-minute pause between 0.12 and 0.16 adds nothing.
  const ticks = [tick(0.04), tick(0.08), tick(0.12), tick(0.16), tick(0.2)];
  assert.ok(Math.abs(trainingSeconds(ticks) - 20) < 1e-9);
  assert.equal(trainingSeconds([]), 0);
  // A speed change is honoured tick by tick.
  assert.ok(Math.abs(trainingSeconds([tick(0.1, 50), tick(0.2, 50), tick(0.3, 200)]) - (5 + 5 + 20)) < 1e-9);
});

test('a resume from an earlier checkpoint (kimg goes back) and a downsampled history still sum right', () => {
  const resumed = [tick(0.1), tick(0.2), tick(0.3), tick(0.25), tick(0.35)];
  // 0.1 each for the first three, the resume tick counts the last step seen (0.1), then 0.1.
  assert.ok(Math.abs(trainingSeconds(resumed) - 50) < 1e-9);
  // Every other point kept: the same 0.4 kimg at 100 s/kimg.
  const full = [0.1, 0.2, 0.3, 0.4].map((k) => tick(k));
  const half = [tick(0.2), tick(0.4)];
  assert.ok(Math.abs(trainingSeconds(full) - trainingSeconds(half)) < 1e-9);
  // A fork starts at its parent's kimg: its first tick counts one step, not the parent's whole history.
  assert.ok(Math.abs(trainingSeconds([tick(12.04), tick(12.08)]) - 8) < 1e-9);
  // A new run's first tick, alone, covers the kimg from 0.
  assert.ok(Math.abs(trainingSeconds([tick(0.04)], 0) - 4) < 1e-9);
  assert.equal(trainingSeconds([tick(12.04)]), 0, 'a lone first tick of a fork: not known yet');
});

test("the ETA comes from the run's own recent speed and is hidden unless it is training", () => {
  const ticks = [tick(0.1, 1000), ...Array.from({ length: 10 }, (_, i) => tick(0.2 + i / 10, 90 + i * 2))];
  assert.equal(recentSecPerKimg(ticks), 99, 'the mean of the last 10 ticks, the slow first one left out');
  assert.equal(recentSecPerKimg([]), null);
  assert.equal(recentSecPerKimg([tick(0.1, null)]), null);
  const run = { kimg: 2, targetKimg: 10 };
  assert.equal(etaSeconds({ ...run, state: 'running' }, 99), 8 * 99);
  for (const state of ['paused', 'stopped', 'created', 'crashed', 'done'] as const)
    assert.equal(etaSeconds({ ...run, state }, 99), null, state);
  assert.equal(etaSeconds({ ...run, state: 'running' }, null), null);
  assert.equal(etaSeconds({ kimg: 11, targetKimg: 10, state: 'running' }, 99), 0);
});
