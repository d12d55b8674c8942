// The KID chart's data in TrainingState (renderer/src/lib/training.svelte.ts): the selected run's
// scores and its lineage's, read again when a score of that lineage lands, forks made later included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckpointScore, RunDetail, RunScores, RunSummary } from '../../preload/contract';
import { kidSeries } from '../../renderer/src/lib/kid-series';
import { TrainingState } from '../../renderer/src/lib/training.svelte';
import { fakeApi, flushPromises } from './fake-api';

const run = (id: number, parentRunId: number | null = null): RunSummary =>
  ({ id, name: `run ${id}`, state: 'done', kimg: 0, error: null, parentRunId, kidImages: 4 }) as RunSummary;
const detail = (r: RunSummary): RunDetail => ({ ...r, checkpoints: [], snapshots: [], diskBytes: 0 });
const score = (runId: number, kimg: number): CheckpointScore => ({
  runId,
  checkpointId: runId * 100 + kimg * 1000,
  kimg,
  step: kimg * 1000,
  kid: 0.1,
  kidStd: 0.01,
  images: 4,
  memorisation: 0,
  label: 'Plumage KID (InceptionV3 mixed5, 4 images)',
  error: null,
  computedAt: 0,
});

/** A core in memory: runs with parents, scores per run; listCheckpointScores answers a lineage as the core does. */
function core() {
  const runs: RunSummary[] = [run(1)];
  const scores = new Map<number, CheckpointScore[]>([[1, [score(1, 0.016)]]]);
  const family = (id: number): number[] => {
    let root = id;
    while (runs.find((r) => r.id === root)?.parentRunId != null) root = runs.find((r) => r.id === root)!.parentRunId!;
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- the fake core's bookkeeping, not state
    const all = new Set([root]);
    for (let grew = true; grew;) {
      grew = false;
      for (const r of runs)
        if (r.parentRunId !== null && all.has(r.parentRunId) && !all.has(r.id)) grew = Boolean(all.add(r.id));
    }
    return [id, ...[...all].filter((x) => x !== id).sort((a, b) => a - b)];
  };
  const fake = fakeApi({
    listRuns: async () => [...runs].sort((a, b) => b.id - a.id),
    getRun: async ({ runId }) => detail(runs.find((r) => r.id === runId)!),
    listTicks: async () => [],
    listCheckpointScores: async ({ runId }): Promise<RunScores[]> =>
      family(runId).map((id) => ({
        runId: id,
        name: `run ${id}`,
        parentRunId: runs.find((r) => r.id === id)!.parentRunId,
        branchKimg: null,
        kidImages: 4,
        scores: scores.get(id) ?? [],
      })),
  });
  return { runs, scores, fake };
}

const shown = (s: TrainingState): [number, number[]][] => s.scores.map((f) => [f.runId, f.scores.map((x) => x.kimg)]);

test('a fork adopted and scored: its score and its parent’s on one chart, the fork first', async () => {
  const { runs, scores, fake } = core();
  const s = new TrainingState(fake.api);
  await s.load();
  assert.deepEqual(shown(s), [[1, [0.016]]]);
  const fork = run(2, 1);
  runs.push(fork);
  await s.adopt(fork);
  assert.deepEqual(shown(s), [
    [2, []],
    [1, [0.016]],
  ]);
  scores.set(2, [score(2, 0.032)]);
  fake.emit('checkpointScored', score(2, 0.032));
  await flushPromises();
  assert.deepEqual(shown(s), [
    [2, [0.032]],
    [1, [0.016]],
  ]);
});

test('the parent on show when a fork made elsewhere is scored: the fork joins its chart', async () => {
  const { runs, scores, fake } = core();
  const s = new TrainingState(fake.api);
  await s.load();
  assert.deepEqual(shown(s), [[1, [0.016]]]);
  // A fork made from another window (or `plumage train --from`), announced, then scored.
  const fork = run(2, 1);
  runs.push(fork);
  fake.emit('runChanged', fork);
  await flushPromises();
  scores.set(2, [score(2, 0.032)]);
  fake.emit('checkpointScored', score(2, 0.032));
  await flushPromises();
  assert.equal(s.selectedId, 1, 'the parent stays on show');
  assert.deepEqual(shown(s), [
    [1, [0.016]],
    [2, [0.032]],
  ]);
  // A fork of the fork counts too; a run of another lineage does not reload the chart.
  const grandchild = run(3, 2);
  const stranger = run(4);
  runs.push(grandchild, stranger);
  fake.emit('runChanged', grandchild);
  fake.emit('runChanged', stranger);
  await flushPromises();
  const asked = fake.called('listCheckpointScores').length;
  scores.set(4, [score(4, 0.016)]);
  fake.emit('checkpointScored', score(4, 0.016));
  await flushPromises();
  assert.equal(fake.called('listCheckpointScores').length, asked, 'another lineage’s score reads nothing');
  scores.set(3, [score(3, 0.048)]);
  fake.emit('checkpointScored', score(3, 0.048));
  await flushPromises();
  assert.deepEqual(shown(s), [
    [1, [0.016]],
    [2, [0.032]],
    [3, [0.048]],
  ]);
});

/** A lineage as listCheckpointScores answers it: run 1, fork 2 from its checkpoint at 0.032 kimg, fork 3 at 0.008. */
function lineage(): RunScores[] {
  const at = (runId: number, kimg: number, kid: number | null, checkpointId: number): CheckpointScore => ({
    ...score(runId, kimg),
    checkpointId,
    kid,
    kidStd: kid === null ? null : 0.01,
    error: kid === null ? 'the feature network failed' : null,
  });
  const family = (runId: number, parentRunId: number | null, branchKimg: number | null) => ({
    runId,
    name: `run ${runId}`,
    parentRunId,
    branchKimg,
    kidImages: 4,
  });
  return [
    { ...family(1, null, null), scores: [at(1, 0.016, 0.5, 11), at(1, 0.032, 0.4, 12), at(1, 0.048, 0.3, 13)] },
    { ...family(2, 1, 0.032), scores: [at(2, 0.048, 0.35, 21), at(2, 0.064, 0.25, 22)] },
    // Forked from a checkpoint whose score failed: nothing to join, its line starts at its own first score.
    { ...family(3, 1, 0.008), scores: [at(3, 0.08, 0.2, 31)] },
  ];
}

test("a fork's KID line starts at its parent's score where it branched, drawn in the fork's colour", () => {
  const families = lineage();
  families[0]!.scores.push({ ...families[0]!.scores[0]!, kimg: 0.008, checkpointId: 99, kid: null, error: 'x' });
  const { x, series } = kidSeries(1, 4, families);
  assert.deepEqual(x, [0.016, 0.032, 0.048, 0.064, 0.08], 'every scored kimg, a failed one left out');
  const line = (label: string) => series.find((s) => s.label.startsWith(label))!;
  assert.deepEqual(line('#1').values, [0.5, 0.4, 0.3, null, null]);
  assert.deepEqual(line('#2').values, [null, 0.4, 0.35, 0.25, null], 'joined at 0.032 kimg, the parent’s 0.4');
  assert.notEqual(line('#2').stroke, line('#1').stroke, 'in the fork’s own colour');
  assert.deepEqual(line('#3').values, [null, null, null, null, 0.2], 'no scored branch point: unjoined');
});

test('the fork on show: its line and its spread start from the branch point', () => {
  const families = lineage();
  const { series } = kidSeries(2, 4, [families[1]!, families[0]!, families[2]!]);
  assert.deepEqual(
    series.map((s) => s.label),
    ['#2 (this run)', '− spread', '+ spread', '#1 run 1', '#3 run 3'],
  );
  assert.deepEqual(series[0]!.values, [null, 0.4, 0.35, 0.25, null]);
  const near = (a: (number | null)[], b: (number | null)[]) =>
    a.every((v, i) => (v === null ? b[i] === null : Math.abs(v - b[i]!) < 1e-12));
  assert.ok(near(series[1]!.values, [null, 0.39, 0.34, 0.24, null]), `${series[1]!.values}`);
  assert.ok(near(series[2]!.values, [null, 0.41, 0.36, 0.26, null]), `${series[2]!.values}`);
});

test('a fork whose parent is not on the chart (or whose branch kimg it scored itself) keeps its own points', () => {
  const [, fork] = lineage();
  assert.deepEqual(kidSeries(2, 4, [fork!]).series[0]!.values, [0.35, 0.25]);
  const own = { ...fork!, scores: [{ ...fork!.scores[0]!, kimg: 0.032, kid: 0.45 }, fork!.scores[1]!] };
  const { x, series } = kidSeries(1, 4, [lineage()[0]!, own]);
  assert.deepEqual(x, [0.016, 0.032, 0.048, 0.064]);
  assert.deepEqual(series.find((s) => s.label.startsWith('#2'))!.values, [null, 0.45, null, 0.25]);
});
