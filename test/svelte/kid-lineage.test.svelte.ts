// The KID chart's data in TrainingState (renderer/src/lib/training.svelte.ts): the selected run's
// scores and its lineage's, read again when a score of that lineage lands, forks made later included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckpointScore, RunDetail, RunScores, RunSummary } from '../../preload/contract';
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
