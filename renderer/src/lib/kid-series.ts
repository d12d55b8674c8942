/**
 * The KID chart's data: one x axis (every scored kimg of the lineage) and a line per run, the
 * shown run's with its spread. A fork's line starts where it branched: the parent's score at the
 * checkpoint it was forked from is its first point, so the chart shows where each config went
 * from the same start (a fork's kimg continues its parent's), not lines floating from nowhere.
 */
import type { CheckpointScore, RunScores } from '../../../preload/contract';

export interface KidLine {
  label: string;
  stroke: string;
  values: (number | null)[];
  /** Dashed: the spread around the shown run's line. */
  dash?: number[];
}

export const KID_COLOURS = ['#8a5a2b', '#2b5a8a', '#6a8a2b', '#8a2b6a', '#a23b2a', '#2b8a7a', '#6b665a'];

/**
 * The parent's score at the kimg `f` was forked at, if the parent is on the chart and that
 * checkpoint was scored: where the fork's line starts. (By kimg, not checkpoint id: a score
 * outlives its checkpoint, and a fork lets go of the checkpoint once it has one of its own.)
 */
export function branchPoint(f: RunScores, families: RunScores[]): CheckpointScore | null {
  if (f.parentRunId === null || f.branchKimg === null) return null;
  const parent = families.find((p) => p.runId === f.parentRunId);
  const at = parent?.scores.filter((s) => s.kid !== null && Math.abs(s.kimg - f.branchKimg!) < 1e-9) ?? [];
  return at.at(-1) ?? null;
}

export function kidSeries(runId: number, kidImages: number, families: RunScores[]): { x: number[]; series: KidLine[] } {
  const scored = families.filter((f) => f.scores.some((s) => s.kid !== null));
  // A run's points: its own scores, after the branch point it starts from (its own win at that kimg).
  const points = new Map(
    scored.map((f) => {
      const own = f.scores.filter((s) => s.kid !== null);
      const branch = branchPoint(f, families);
      return [f.runId, branch && !own.some((s) => s.kimg === branch.kimg) ? [branch, ...own] : own];
    }),
  );
  const x = [...new Set([...points.values()].flatMap((ps) => ps.map((s) => s.kimg)))].sort((a, b) => a - b);
  const valuesOf = (f: RunScores, pick: (kid: number, std: number) => number): (number | null)[] => {
    const at = new Map(points.get(f.runId)!.map((s) => [s.kimg, pick(s.kid!, s.kidStd ?? 0)]));
    return x.map((k) => at.get(k) ?? null);
  };
  const series = scored.flatMap((f, i) => {
    const stroke = KID_COLOURS[i % KID_COLOURS.length]!;
    const images = f.kidImages === kidImages ? '' : `, ${f.kidImages} images`;
    const who = f.runId === runId ? `#${f.runId} (this run)` : `#${f.runId} ${f.name}${images}`;
    const line: KidLine = { label: who, stroke, values: valuesOf(f, (k) => k) };
    if (f.runId !== runId) return [line];
    // The spread (one standard deviation of the subsets' estimates) around this run's line.
    return [
      line,
      { label: '− spread', stroke, dash: [4, 4], values: valuesOf(f, (k, s) => k - s) },
      { label: '+ spread', stroke, dash: [4, 4], values: valuesOf(f, (k, s) => k + s) },
    ];
  });
  return { x, series };
}
