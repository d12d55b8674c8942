// GalleryGrid (renderer/src/lib/gallery.svelte.ts) against an API in memory: pages of seeds,
// birds streaming in, and work for a grid nobody sees any more being cancelled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GALLERY_PAGE_SIZE,
  type GeneratedBird,
  type GeneratorInfo,
  type GenerateParams,
  type PlumageApi,
} from '../../preload/contract';
import { GalleryGrid, drawn } from '../../renderer/src/lib/gallery.svelte';
import { deferred, fakeApi, flushPromises } from './fake-api';

type Reply = Awaited<ReturnType<PlumageApi['generate']>>;
const birds = (seeds: number[], ready = false): GeneratedBird[] =>
  seeds.map((seed) => ({ seed, media: `gallery/${seed}.png`, ready }) as GeneratedBird);
const info = { file: '/c.safetensors', runId: 1, runName: 'r' } as GeneratorInfo;

test('a page of seeds in order; birds already drawn are ready at once, the rest when their event comes', async () => {
  let job = 0;
  const fake = fakeApi({
    openGenerator: async () => info,
    generate: async ({ seeds }) => ({ jobId: ++job, birds: birds(seeds, seeds[0] === 0) }) as Reply,
  });
  const g = new GalleryGrid(fake.api);
  g.start = 0;
  await g.open({ runId: 1 });
  assert.equal(g.cells.length, GALLERY_PAGE_SIZE);
  assert.deepEqual(
    g.cells.slice(0, 3).map((c) => [c.seed, c.ready]),
    [
      [0, true],
      [1, true],
      [2, true],
    ],
  );
  await g.more();
  assert.equal(g.cells[GALLERY_PAGE_SIZE]!.seed, GALLERY_PAGE_SIZE, 'the next page follows on');
  assert.equal(g.cells[GALLERY_PAGE_SIZE]!.ready, false);
  fake.emit('galleryImage', { jobId: 2, index: 0, media: `gallery/${GALLERY_PAGE_SIZE}.png`, ms: 5 });
  assert.equal(g.cells[GALLERY_PAGE_SIZE]!.ready, true);
  assert.equal(g.cells[GALLERY_PAGE_SIZE + 1]!.ready, false);
});

test('changing a setting cancels what is still queued, and a late reply for the old grid is cancelled too', async () => {
  const first = deferred<Reply>();
  let calls = 0;
  const fake = fakeApi({
    openGenerator: async () => info,
    generate: (p: GenerateParams) =>
      ++calls === 2 ? first.promise : Promise.resolve({ jobId: 5, birds: birds(p.seeds) } as Reply),
    cancelGeneration: async () => ({}) as never,
  });
  const g = new GalleryGrid(fake.api);
  await g.open({ runId: 1 }); // job 5
  const stale = g.more(); // its reply is held back
  await flushPromises();
  g.psi = 0.5;
  const reset = g.reset(); // cancels job 5 at once
  first.resolve({ jobId: 6, birds: birds([1]) } as Reply);
  await Promise.all([stale, reset]);
  assert.deepEqual(
    fake
      .called('cancelGeneration')
      .map((p) => (p as { jobId: number }).jobId)
      .sort(),
    [5, 6],
    'both the queued job and the late reply’s job are cancelled',
  );
  assert.deepEqual(g.cells, [], 'nothing of the old grid is shown');
  assert.equal(g.loading, false);
  // The view asks for the next page whenever the grid's end is in sight and nothing is loading.
  await g.more();
  assert.equal(g.cells.length, GALLERY_PAGE_SIZE);
  assert.equal((fake.called('generate').at(-1) as GenerateParams).psi, 0.5);
});

test('a failed job shows why; a failed open shows why and keeps the old model', async () => {
  const fake = fakeApi({
    openGenerator: async (ref) => {
      if ('file' in ref) throw new Error('not a generator file');
      return info;
    },
    generate: async ({ seeds }) => ({ jobId: 9, birds: birds(seeds) }) as Reply,
  });
  const g = new GalleryGrid(fake.api);
  await g.open({ runId: 1 });
  fake.emit('galleryJob', { jobId: 9, state: 'failed', error: 'out of memory' });
  assert.equal(g.error, 'out of memory');
  await g.open({ file: '/x.png' });
  assert.equal(g.error, 'not a generator file');
  assert.deepEqual(g.ref, { runId: 1 });
});

test('drawn: waits for its job to end even when the end overtakes the reply; a failure throws', async () => {
  const fake = fakeApi();
  const reply = deferred<{ jobId: number; birds: GeneratedBird[] }>();
  const result = drawn(fake.api, () => reply.promise);
  fake.emit('galleryJob', { jobId: 4, state: 'done' }); // before the reply
  reply.resolve({ jobId: 4, birds: birds([7]) });
  assert.deepEqual(await result, ['gallery/7.png']);
  assert.equal(fake.listening('galleryJob'), 0, 'it stops listening');

  const failing = drawn(fake.api, async () => ({ jobId: 5, birds: birds([8]) }));
  await flushPromises();
  fake.emit('galleryJob', { jobId: 5, state: 'failed', error: 'the checkpoint is damaged' });
  await assert.rejects(failing, /the checkpoint is damaged/);
});
