import type { GeneratorRef, RunDetail, SnapshotInfo } from '../../../preload/contract';

/**
 * The generators of a run a person draws or projects from: its G_ema files kept past its last
 * checkpoint (the run as it trains, newest first) and its intact checkpoints. A choice is
 * 's<snapshot id>' or 'c<checkpoint id>'.
 */
export function liveSnapshots(d: RunDetail | null): SnapshotInfo[] {
  const last = d?.checkpoints.filter((c) => !c.damaged).at(-1);
  return (d?.snapshots ?? []).filter((s) => s.generator !== null && (!last || s.step > last.step)).reverse();
}

export interface ModelChoice {
  value: string;
  label: string;
}

/** The G_ema choices of a run, newest (the run now) first. */
export const snapshotChoices = (d: RunDetail | null): ModelChoice[] =>
  liveSnapshots(d).map((s, i) => ({
    value: `s${s.id}`,
    label: `${i === 0 ? 'now: ' : ''}${s.kimg.toFixed(3)} kimg (G_ema as it ${i === 0 ? 'trains' : 'trained'})`,
  }));

/** The run's newest generator: the G_ema written with its last grid, else its last checkpoint ('' if none). */
export function newestChoice(d: RunDetail): string {
  const live = liveSnapshots(d)[0];
  if (live) return `s${live.id}`;
  const last = d.checkpoints.filter((c) => !c.damaged).at(-1);
  return last ? `c${last.id}` : '';
}

/** A choice as the request names it. */
export function choiceRef(runId: number, choice: string): GeneratorRef {
  const n = Number(choice.slice(1));
  return choice.startsWith('s') ? { runId, snapshotId: n } : { runId, checkpointId: n };
}
