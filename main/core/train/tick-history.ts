import type { TickInfo } from '../../common/records.js';

/** The metrics the charts draw; each keeps its extremes through downsampling. */
export const CHARTED = ['lossG', 'lossD', 'r1Penalty', 'plPenalty', 'scoreReal', 'scoreFake', 'augmentP'] as const;
type Charted = (typeof CHARTED)[number];

/**
 * A long run's whole history, in at most `maxPoints` points: the ticks are cut into
 * `maxPoints / 2` equal buckets, and each bucket becomes two points, its first and last tick,
 * carrying each metric's minimum and maximum within the bucket in the order they happened.
 * Spikes (a diverging D loss) survive; the first and last ticks are kept exactly, so elapsed
 * time, the newest speed and `afterId` paging stay true. Streams: `ticks` is read once.
 */
export function downsampleTicks(ticks: Iterable<TickInfo>, count: number, maxPoints: number): TickInfo[] {
  const out: TickInfo[] = [];
  if (count <= maxPoints) {
    for (const t of ticks) out.push(t);
    return out;
  }
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  let bucket = 0;
  let end = Math.floor(count / buckets); // index where bucket 0 ends
  let first: TickInfo | null = null;
  let last: TickInfo | null = null;
  const lo = new Map<Charted, { v: number; i: number }>();
  const hi = new Map<Charted, { v: number; i: number }>();
  const flush = (): void => {
    if (!first || !last) return;
    if (first === last) out.push(first);
    else {
      const a: TickInfo = { ...first };
      const b: TickInfo = { ...last };
      for (const key of CHARTED) {
        const min = lo.get(key);
        const max = hi.get(key);
        if (!min || !max) {
          a[key] = null;
          b[key] = null;
        } else if (min.i <= max.i) {
          a[key] = min.v;
          b[key] = max.v;
        } else {
          a[key] = max.v;
          b[key] = min.v;
        }
      }
      out.push(a, b);
    }
    first = last = null;
    lo.clear();
    hi.clear();
  };
  let i = 0;
  for (const t of ticks) {
    while (i >= end && bucket < buckets - 1) {
      flush();
      bucket++;
      end = Math.floor(((bucket + 1) * count) / buckets);
    }
    first ??= t;
    last = t;
    for (const key of CHARTED) {
      const v = t[key];
      if (v === null || !Number.isFinite(v)) continue;
      if (!lo.has(key) || v < lo.get(key)!.v) lo.set(key, { v, i });
      if (!hi.has(key) || v > hi.get(key)!.v) hi.set(key, { v, i });
    }
    i++;
  }
  flush();
  return out;
}
