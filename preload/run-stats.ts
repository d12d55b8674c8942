/**
 * What a run's numbers mean, computed from its ticks, for every view that shows them (the
 * Training view; anything else later). Pure: no Node, no DOM, so the renderer and the tests
 * share it, as they share the contract beside it.
 */
import type { RunState, TickInfo } from './contract.js';

type Tick = Pick<TickInfo, 'kimg' | 'secPerKimg'>;

/** Ticks whose speed is averaged for the ETA: about the last minute or two of training. */
export const SPEED_WINDOW_TICKS = 10;

/**
 * Seconds spent training: each tick covers the kimg since the previous one at its own measured
 * s/kimg, so time paused or stopped (a gap between ticks) never counts, and a downsampled
 * history sums to the same. The first tick covers the kimg since `startKimg` when that is known;
 * it, and the first after a resume from an earlier checkpoint (kimg went back), otherwise count
 * the kimg of the tick before or after them.
 */
export function trainingSeconds(ticks: readonly Tick[], startKimg?: number): number {
  let total = 0;
  let step: number | null = null;
  for (let i = 0; i < ticks.length; i++) {
    const t = ticks[i]!;
    // Before the first tick is the kimg the run started from: 0 for a new run; unknown for a fork.
    const delta = i > 0 ? t.kimg - ticks[i - 1]!.kimg : startKimg === undefined ? NaN : t.kimg - startKimg;
    const covered = delta > 0 ? delta : (step ?? firstStep(ticks));
    if (delta > 0) step = delta;
    if (t.secPerKimg !== null && Number.isFinite(t.secPerKimg)) total += covered * t.secPerKimg;
  }
  return total;
}

function firstStep(ticks: readonly Tick[]): number {
  for (let i = 1; i < ticks.length; i++) {
    const d = ticks[i]!.kimg - ticks[i - 1]!.kimg;
    if (d > 0) return d;
  }
  return 0;
}

/** The run's own recent speed: the mean s/kimg of its last ticks (null before the first). */
export function recentSecPerKimg(ticks: readonly Tick[], window = SPEED_WINDOW_TICKS): number | null {
  const xs = ticks
    .slice(-window)
    .map((t) => t.secPerKimg)
    .filter((x): x is number => x !== null && Number.isFinite(x) && x > 0);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/** Seconds left at the run's own speed; null unless it is training (no ETA while paused or stopped). */
export function etaSeconds(
  run: { state: RunState; kimg: number; targetKimg: number },
  secPerKimg: number | null,
): number | null {
  if (run.state !== 'running' || secPerKimg === null) return null;
  return Math.max(0, run.targetKimg - run.kimg) * secPerKimg;
}
