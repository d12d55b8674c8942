// DatasetState and SourcePages (renderer/src/lib/dataset.svelte.ts) against an API in memory:
// which dataset the Dataset view shows, what an error about a folder clears, and the file list
// fetched page by page as it scrolls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatasetSummary, IngestProgress, SourceItem } from '../../preload/contract';
import { PlumageError } from '../../renderer/src/lib/api';
import { DatasetState, SourcePages } from '../../renderer/src/lib/dataset.svelte';
import { shownDataset } from '../../renderer/src/lib/shown-dataset.svelte';
import { deferred, fakeApi, flushPromises } from './fake-api';

const progress = (datasetId: number, phase: IngestProgress['phase']) => ({ datasetId, phase }) as IngestProgress;
const dataset = (id: number, folder = `/plates-${id}`): DatasetSummary =>
  ({
    id,
    folder,
    counts: { accepted: id, rejected: 0, duplicates: 0 },
    progress: progress(id, 'watching'),
  }) as DatasetSummary;

test('the latest dataset is shown and named for the Training form; its events update it, others’ do not', async () => {
  const fake = fakeApi({ listDatasets: async () => [dataset(2), dataset(1)] });
  const s = new DatasetState(fake.api);
  await s.loadLatest();
  assert.equal(s.summary?.id, 2);
  assert.equal(shownDataset.id, 2);
  const revision = s.revision;
  fake.emit('datasetChanged', { ...dataset(2), counts: { accepted: 30, rejected: 1, duplicates: 0 } });
  fake.emit('ingestProgress', progress(1, 'ingesting'));
  assert.equal(s.counts.accepted, 30);
  assert.equal(s.revision, revision + 1, 'the file lists are told to refetch');
  assert.equal(s.ingesting, false, 'another dataset’s ingest is not this one’s');
  fake.emit('ingestProgress', progress(2, 'scanning'));
  assert.equal(s.ingesting, true);
  s.dispose();
  assert.equal(fake.listening('datasetChanged'), 0);
});

test('a folder that cannot be opened clears the old dataset; a lost connection keeps it', async () => {
  let refuse: Error = new Error('no folder at /nope');
  const fake = fakeApi({
    listDatasets: async () => [dataset(1)],
    openDataset: async () => {
      throw refuse;
    },
  });
  const s = new DatasetState(fake.api);
  await s.loadLatest();
  refuse = new PlumageError({ code: 'disconnected', message: 'not connected to the Plumage server' });
  await s.open('/elsewhere', 64, 'centre');
  assert.equal(s.error, 'not connected to the Plumage server');
  assert.equal(s.summary?.id, 1, 'the connection says nothing about the folder');
  refuse = new Error('no folder at /nope');
  await s.open('  /nope ', 64, 'centre');
  assert.equal(s.error, 'no folder at /nope');
  assert.equal(s.summary, null, 'the old "Watching …" line must not stand above the error');
  assert.equal(shownDataset.id, null);
  assert.equal(s.busy, false);
  assert.deepEqual(fake.called('openDataset').at(-1), { folder: '/nope', resolution: 64, crop: 'centre' });
});

test('forgetting the shown dataset shows the latest other one', async () => {
  const fake = fakeApi({ listDatasets: async () => [dataset(2), dataset(1)], forgetDataset: async () => [dataset(1)] });
  const s = new DatasetState(fake.api);
  await s.loadLatest();
  await s.forget(2);
  assert.equal(s.summary?.id, 1);
  assert.deepEqual(
    s.all.map((d) => d.id),
    [1],
  );
});

test('file lists load page by page, each page once, as far as asked', async () => {
  const item = (i: number) => ({ id: i, file: `p${i}.jpg` }) as SourceItem;
  const pages: { offset: number; reply: ReturnType<typeof deferred<unknown>> }[] = [];
  const fake = fakeApi({
    listSources: ({ offset }) => {
      const reply = deferred<unknown>();
      pages.push({ offset, reply });
      return reply.promise as never;
    },
  });
  const list = new SourcePages(fake.api, 1, 'accepted');
  list.ensure(0, 10);
  list.ensure(0, 50); // the same page, still loading: not asked again
  assert.deepEqual(
    pages.map((p) => p.offset),
    [0],
  );
  pages[0]!.reply.resolve({ total: 130, offset: 0, items: Array.from({ length: 120 }, (_, i) => item(i)) });
  await flushPromises();
  assert.equal(list.total, 130);
  assert.equal(list.items[119]?.file, 'p119.jpg');
  assert.equal(list.items[120], undefined);
  list.ensure(100, 130); // the first page is there; only the second is asked for
  assert.deepEqual(
    pages.map((p) => p.offset),
    [0, 120],
  );
});
