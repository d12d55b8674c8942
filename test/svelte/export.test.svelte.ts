// ExportState (renderer/src/lib/export.svelte.ts) against an API in memory: the job in hand,
// progress events that overtake the reply naming their job, files in the way, missing generators.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExportProgress, ExportStart, Favourite, PrintOptions } from '../../preload/contract';
import { ExportState } from '../../renderer/src/lib/export.svelte';
import { deferred, fakeApi } from './fake-api';

const favourite = (id: number) => ({ id, name: `bird ${id}` }) as Favourite;
const progress = (jobId: number, over: Partial<ExportProgress> = {}): ExportProgress => ({
  jobId,
  kind: 'prints',
  state: 'running',
  done: 0,
  total: 2,
  current: null,
  written: [],
  downloads: {},
  failed: [],
  error: null,
  ...over,
});
const OPTIONS = { paper: 'A5' } as PrintOptions;
const loaded = {
  listFavourites: async () => [favourite(1), favourite(2)],
  listDatasets: async () => [],
  listRuns: async () => [],
  describeUpscalers: async () => ({ auto: 'Auto', esrgan: 'ESRGAN', lanczos: 'Lanczos' }),
};

test('load keeps only the chosen favourites that still exist; toggle and select all', async () => {
  const fake = fakeApi(loaded);
  const s = new ExportState(fake.api, [2, 9]);
  await s.load();
  assert.deepEqual(s.selected, [2], 'favourite 9 is gone');
  s.toggle(1);
  s.toggle(2);
  assert.deepEqual(s.selected, [1]);
  s.selectAll(true);
  assert.deepEqual(s.selected, [1, 2]);
  s.selectAll(false);
  assert.deepEqual(s.selected, []);
});

test('progress that arrives before the reply naming its job is not lost', async () => {
  const reply = deferred<ExportStart>();
  const fake = fakeApi({ ...loaded, exportPrints: () => reply.promise });
  const s = new ExportState(fake.api, [1]);
  const started = s.prints(OPTIONS, '  /out/prints  ');
  fake.emit('exportProgress', progress(7, { done: 1 })); // the job's first event, before the reply
  reply.resolve({ job: progress(7) });
  await started;
  assert.equal(s.progress?.done, 1, 'the newer event, not the reply’s older state');
  assert.deepEqual(fake.called('exportPrints'), [
    { favourites: [1], options: OPTIONS, folder: '/out/prints', overwrite: false },
  ]);
  fake.emit('exportProgress', progress(8, { done: 2 })); // another job's
  assert.equal(s.progress?.jobId, 7);
  fake.emit('exportProgress', progress(7, { state: 'done', done: 2, written: ['/out/prints/a.pdf'] }));
  assert.equal(s.running, false);
  assert.deepEqual(s.progress?.written, ['/out/prints/a.pdf']);
});

test('files in the way: nothing starts until the user says replace, which asks again with overwrite', async () => {
  const fake = fakeApi({
    ...loaded,
    exportPrints: async ({ overwrite }) => (overwrite ? { job: progress(3) } : { existing: ['/out/a.pdf'] }),
  });
  const s = new ExportState(fake.api, [1]);
  const job = (): number | undefined => s.progress?.jobId; // read afresh each time (no narrowing)
  await s.prints(OPTIONS, '/out');
  assert.deepEqual(s.pending?.files, ['/out/a.pdf']);
  assert.equal(job(), undefined, 'nothing started');
  await s.replace();
  assert.equal(s.pending, null);
  assert.equal(job(), 3);
  assert.deepEqual(
    fake.called('exportPrints').map((p) => (p as { overwrite: boolean }).overwrite),
    [false, true],
  );
  await s.prints(OPTIONS, '/out');
  s.keep();
  assert.equal(s.pending, null, 'keeping the files drops the request');
});

test('favourites whose generator is gone: listed; removing them unselects them and reloads', async () => {
  let favourites = [favourite(1), favourite(2)];
  const fake = fakeApi({
    ...loaded,
    listFavourites: async () => favourites,
    exportPrints: async () => ({ missing: [{ favouriteId: 2, name: 'bird 2', generatorPath: '/gone.safetensors' }] }),
    removeFavourite: async ({ id }) => {
      favourites = favourites.filter((f) => f.id !== id);
      return true;
    },
  });
  const s = new ExportState(fake.api, [1, 2]);
  await s.prints(OPTIONS, '/out');
  assert.deepEqual(
    s.missing.map((m) => m.favouriteId),
    [2],
  );
  await s.removeMissing();
  assert.deepEqual(s.missing, []);
  assert.deepEqual(s.selected, [1]);
  assert.deepEqual(
    s.favourites.map((f) => f.id),
    [1],
  );
});

test('a refused request shows why and clears the last job', async () => {
  const fake = fakeApi({
    ...loaded,
    exportPrints: async () => ({ job: progress(1, { state: 'done' }) }),
    exportDataset: async () => {
      throw new Error('the folder /out is not writable');
    },
  });
  const s = new ExportState(fake.api, [1]);
  await s.prints(OPTIONS, '/out');
  assert.equal(s.progress?.jobId, 1);
  await s.dataset(4, '/out');
  assert.equal(s.error, 'the folder /out is not writable');
  assert.equal(s.progress, null, 'the last job’s result would only confuse a new attempt');
  s.dispose();
  assert.equal(fake.listening('exportProgress'), 0);
});
