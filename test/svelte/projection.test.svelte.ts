// Projection (renderer/src/lib/projection.svelte.ts) against an API in memory: progress frames of
// its own job only, a Cancel pressed before the job is known, the result kept as a favourite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Favourite, ProjectProgressEvent, ProjectResult } from '../../preload/contract';
import { Projection, etaText } from '../../renderer/src/lib/projection.svelte';
import { deferred, fakeApi, flushPromises } from './fake-api';

const event = (jobId: number, step: number, extra: Partial<ProjectProgressEvent> = {}): ProjectProgressEvent => ({
  jobId,
  step,
  steps: 100,
  distance: 0.5,
  psnr: 12,
  etaSeconds: step === 0 ? null : 90,
  preview: `data:image/png;base64,${step}`,
  targetPreview: step === 0 ? 'data:image/png;base64,target' : null,
  ...extra,
});
const result: ProjectResult = {
  distance: 0.1,
  psnr: 25,
  steps: 100,
  image: '/x/p-projected.png',
  latent: '/x/p-latent.json',
  video: [],
  preview: 'data:image/png;base64,last',
  targetPreview: 'data:image/png;base64,target',
};
const params = { generator: { runId: 1, checkpointId: 2 }, image: '/p.png', steps: 100, wPlus: false, video: null };

test('frames of its own job are shown (another window’s are not), the result replaces them, and it is kept', async () => {
  const reply = deferred<ProjectResult>();
  const fake = fakeApi({
    projectImage: () => reply.promise,
    addFavourite: async (p) => ({ id: 7, name: p.name ?? 'Avis plumata' }) as Favourite,
  });
  const job = new Projection(fake.api);
  const done = job.start(params);
  assert.equal(job.state, 'starting');
  fake.emit('projectProgress', event(4, 0));
  assert.equal(job.state, 'running');
  assert.equal(job.targetPreview, 'data:image/png;base64,target');
  fake.emit('projectProgress', event(9, 50, { preview: 'data:image/png;base64,other' }));
  assert.equal(job.preview, 'data:image/png;base64,0', 'another job’s frame is not ours');
  fake.emit('projectProgress', event(4, 10));
  assert.equal(job.preview, 'data:image/png;base64,10');
  assert.equal(job.progress?.etaSeconds, 90);
  reply.resolve(result);
  await done;
  assert.equal(job.state, 'done');
  assert.equal(job.preview, 'data:image/png;base64,last');
  await job.keep('  Plate  ');
  assert.deepEqual(fake.called('addFavourite'), [
    { generator: { runId: 1, checkpointId: 2 }, latent: result.latent, name: 'Plate' },
  ]);
  assert.equal(job.kept?.id, 7);
  await job.keep('again');
  assert.equal(fake.called('addFavourite').length, 1, 'kept once');
});

test('Cancel before the first event cancels the job as soon as it is known, and ends as cancelled', async () => {
  const reply = deferred<ProjectResult>();
  const fake = fakeApi({ projectImage: () => reply.promise, cancelProjection: async () => true });
  const job = new Projection(fake.api);
  const done = job.start(params);
  await job.cancel();
  assert.equal(job.state, 'cancelling');
  assert.deepEqual(fake.called('cancelProjection'), []);
  fake.emit('projectProgress', event(5, 0));
  await flushPromises();
  assert.deepEqual(fake.called('cancelProjection'), [{ jobId: 5 }]);
  reply.reject(new Error('cancelled'));
  await done;
  assert.equal(job.state, 'cancelled');
  assert.equal(job.error, null);
  await job.keep();
  assert.deepEqual(fake.called('addFavourite'), [], 'nothing to keep');
});

test('a failure is said as it came; the ETA reads at a glance', async () => {
  const fake = fakeApi({ projectImage: async () => Promise.reject(new Error('/p.png: not an image')) });
  const job = new Projection(fake.api);
  await job.start(params);
  assert.equal(job.state, 'failed');
  assert.equal(job.error, '/p.png: not an image');
  assert.equal(etaText(null), 'estimating time left…');
  assert.equal(etaText(42.4), 'about 42 s left');
  assert.equal(etaText(80), 'about 1 min 20 s left');
});
