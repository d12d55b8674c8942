// TrainingState (renderer/src/lib/training.svelte.ts) against an API in memory: what the
// Training view shows as runs change, ticks stream in, histories are fetched and runs deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flushSync } from 'svelte';
import type { RunDetail, RunSummary, TickInfo } from '../../preload/contract';
import { CHART_POINTS, TrainingState } from '../../renderer/src/lib/training.svelte';
import { deferred, fakeApi, flushPromises } from './fake-api';

const run = (id: number, over: Partial<RunSummary> = {}): RunSummary =>
  ({ id, name: `run ${id}`, state: 'paused', kimg: 0, error: null, ...over }) as RunSummary;
const detail = (r: RunSummary): RunDetail => ({ ...r, checkpoints: [], snapshots: [], diskBytes: 0 });
const tick = (id: number, kimg = id / 100): TickInfo => ({ id, kimg, step: id, secPerKimg: 60, at: id }) as TickInfo;

test('load lists the runs and shows the newest, with its detail and its whole tick history', async () => {
  const runs = [run(2), run(1)];
  const fake = fakeApi({
    listRuns: async () => runs,
    getRun: async ({ runId }) => detail(runs.find((r) => r.id === runId)!),
    listTicks: async () => [tick(1), tick(2)],
  });
  const s = new TrainingState(fake.api);
  await s.load();
  assert.equal(s.selectedId, 2);
  assert.equal(s.selected?.name, 'run 2');
  assert.equal(s.detail?.id, 2);
  assert.deepEqual(
    s.ticks.map((t) => t.id),
    [1, 2],
  );
  assert.deepEqual(fake.called('listTicks'), [{ runId: 2, afterId: 0, maxPoints: CHART_POINTS }]);
  s.dispose();
  assert.equal(fake.listening('runTick'), 0, 'dispose unsubscribes');
});

test('live ticks: the selected run’s are appended once each; every run’s kimg follows its ticks', async () => {
  const fake = fakeApi({
    listRuns: async () => [run(2), run(1)],
    getRun: async ({ runId }) => detail(run(runId)),
    listTicks: async () => [tick(1)],
  });
  const s = new TrainingState(fake.api);
  await s.load();
  fake.emit('runTick', { runId: 2, tick: tick(2, 0.5) });
  fake.emit('runTick', { runId: 2, tick: tick(2, 0.5) }); // the same tick again (a reconnect)
  fake.emit('runTick', { runId: 1, tick: tick(9, 7) }); // another run's
  assert.deepEqual(
    s.ticks.map((t) => t.id),
    [1, 2],
  );
  assert.deepEqual(
    s.runs.map((r) => r.kimg),
    [0.5, 7],
  );
});

test('ticks that arrive while the history is fetched are kept, after it, and none twice', async () => {
  const history = deferred<TickInfo[]>();
  const fake = fakeApi({
    listRuns: async () => [run(1)],
    getRun: async () => detail(run(1)),
    listTicks: () => history.promise,
  });
  const s = new TrainingState(fake.api);
  const loading = s.load();
  await flushPromises();
  fake.emit('runTick', { runId: 1, tick: tick(3) }); // already in the history
  fake.emit('runTick', { runId: 1, tick: tick(4) });
  history.resolve([tick(1), tick(2), tick(3)]);
  await loading;
  assert.deepEqual(
    s.ticks.map((t) => t.id),
    [1, 2, 3, 4],
  );
});

test('past twice the chart’s points the history is fetched again, downsampled by the core', async () => {
  let fetched = 0;
  const fake = fakeApi({
    listRuns: async () => [run(1)],
    getRun: async () => detail(run(1)),
    listTicks: async () => (++fetched === 1 ? [] : [tick(1), tick(2 * CHART_POINTS + 1)]),
  });
  const s = new TrainingState(fake.api);
  await s.load();
  for (let id = 1; id <= 2 * CHART_POINTS + 1; id++) fake.emit('runTick', { runId: 1, tick: tick(id) });
  await flushPromises();
  assert.equal(fetched, 2);
  assert.equal(s.ticks.length, 2);
});

test('a run changed elsewhere: a new one is listed newest first; the selected one’s detail is fetched again', async () => {
  let gets = 0;
  const fake = fakeApi({
    listRuns: async () => [run(1)],
    getRun: async () => (gets++, detail(run(1, { state: 'running' }))),
    listTicks: async () => [],
  });
  const s = new TrainingState(fake.api);
  await s.load();
  fake.emit('runChanged', run(3, { state: 'created' }));
  assert.deepEqual(
    s.runs.map((r) => r.id),
    [3, 1],
  );
  const before = gets;
  fake.emit('runChanged', run(1, { state: 'running' }));
  await flushPromises();
  assert.equal(gets, before + 1);
  assert.equal(s.detail?.state, 'running');
});

test('an action that fails shows its error instead of throwing; the next action clears it', async () => {
  const fake = fakeApi({
    listRuns: async () => [run(1)],
    getRun: async () => detail(run(1)),
    listTicks: async () => [],
    startRun: async () => {
      throw new Error('the preset needs 9 GB');
    },
    pauseRun: async () => run(1),
  });
  const s = new TrainingState(fake.api);
  await s.load();
  await s.start();
  assert.equal(s.error, 'the preset needs 9 GB');
  await s.pause();
  assert.equal(s.error, null);
});

test('deleting the selected run selects the next; its last events do not bring it back', async () => {
  let runs = [run(2), run(1)];
  const fake = fakeApi({
    listRuns: async () => runs,
    getRun: async ({ runId }) => detail(run(runId)),
    listTicks: async () => [],
    deleteRun: async ({ runId }) => (runs = runs.filter((r) => r.id !== runId)),
  });
  const s = new TrainingState(fake.api);
  await s.load();
  await s.remove(2);
  fake.emit('runChanged', run(2, { state: 'stopped' })); // its trainer's last word, after the delete
  assert.deepEqual(
    s.runs.map((r) => r.id),
    [1],
  );
  assert.equal(s.selectedId, 1);
  assert.equal(s.detail?.id, 1);
  assert.equal(
    fake.called('getRun').filter((p) => (p as { runId: number }).runId === 2).length,
    1,
    'no detail of the deleted run is asked for after the delete',
  );
});

test("a run created with a deleted run's id (ids are reused once nothing of it is on disk) is shown and selected", async () => {
  let runs = [run(1)];
  const fake = fakeApi({
    listRuns: async () => runs,
    getRun: async ({ runId }) => detail(runs.find((r) => r.id === runId) ?? run(runId)),
    listTicks: async () => [],
    deleteRun: async ({ runId }) => (runs = runs.filter((r) => r.id !== runId)),
  });
  const s = new TrainingState(fake.api);
  await s.load();
  await s.remove(1);
  assert.equal(s.runs.length, 0);
  const fresh = run(1, { name: 'the new one', state: 'created' });
  runs = [fresh];
  await s.adopt(fresh);
  fake.emit('runChanged', { ...fresh, state: 'running' }); // its own events count again
  assert.deepEqual(
    s.runs.map((r) => [r.id, r.name, r.state]),
    [[1, 'the new one', 'running']],
  );
  assert.equal(s.selectedId, 1);
  assert.equal(s.detail?.name, 'the new one');
});

test('what a view derives from the state is recomputed when it changes (effects re-run)', async () => {
  const fake = fakeApi({
    listRuns: async () => [run(1, { kimg: 1 })],
    getRun: async () => detail(run(1)),
    listTicks: async () => [],
  });
  const s = new TrainingState(fake.api);
  let shown: number | undefined;
  let runs = 0;
  const stop = $effect.root(() => {
    $effect(() => {
      shown = s.selected?.kimg;
      runs++;
    });
  });
  flushSync();
  assert.equal(shown, undefined);
  await s.load();
  flushSync();
  assert.equal(shown, 1);
  const before = runs;
  fake.emit('runTick', { runId: 1, tick: tick(1, 2.5) });
  flushSync();
  assert.equal(shown, 2.5);
  assert.equal(runs, before + 1, 'one tick, one re-run');
  stop();
  fake.emit('runTick', { runId: 1, tick: tick(2, 3) });
  flushSync();
  assert.equal(shown, 2.5, 'a stopped effect no longer runs');
});
