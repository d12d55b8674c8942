// RunForm (renderer/src/lib/run-form.svelte.ts) against an API in memory: the New run form's
// defaults, what Create run asks the core for, a fork's settings, and Create run's error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultRunLengths,
  type CreateRunParams,
  type DatasetSummary,
  type RunSummary,
  type TrainFolderParams,
  type TrainFolderResult,
} from '../../preload/contract';
import { RunForm } from '../../renderer/src/lib/run-form.svelte';
import { fakeApi } from './fake-api';

const parent = {
  id: 7,
  datasetId: 3,
  preset: '64',
  targetKimg: 500,
  snapshotKimg: 2,
  checkpointKimg: 8,
  checkpointMinutes: 30,
  r1Gamma: 0.5,
  adaTarget: 0.7,
  replicas: 2,
  lastCheckpoint: { id: 41, kimg: 123.456 },
} as RunSummary;

test('a new run starts from plumage train’s lengths, and another preset brings its own', () => {
  const form = new RunForm(fakeApi().api);
  assert.deepEqual(
    { targetKimg: form.targetKimg, snapshotKimg: form.snapshotKimg, checkpointKimg: form.checkpointKimg },
    defaultRunLengths('tiny'),
  );
  form.choosePreset('256');
  assert.equal(form.preset, '256');
  assert.deepEqual(
    { targetKimg: form.targetKimg, snapshotKimg: form.snapshotKimg, checkpointKimg: form.checkpointKimg },
    defaultRunLengths('256'),
  );
});

test('Create run sends the core’s "train this folder" for a new run, with only the settings given', async () => {
  const fake = fakeApi({
    getDataset: async () => ({ id: 3, folder: '/birds', resolution: 64, crop: 'subject' }) as DatasetSummary,
    trainFolder: async (p) => ({ action: 'created', run: { id: 9, ...p } }) as unknown as TrainFolderResult,
  });
  const form = new RunForm(fake.api);
  assert.equal(await form.create(), null, 'no dataset chosen: nothing to create');
  assert.equal(fake.calls.length, 0);
  form.datasetId = 3;
  form.freezeD = 10; // without initFrom it means nothing
  form.initFrom = '   ';
  const created = await form.create();
  assert.equal(created?.id, 9);
  assert.deepEqual(fake.called('createRun'), [], 'a new run is the workflow’s, not a bare createRun');
  // The chosen dataset by its folder, resolution and crop; always a new run (the runs list resumes).
  assert.deepEqual(fake.called('trainFolder'), [
    {
      folder: '/birds',
      resolution: 64,
      crop: 'subject',
      newRun: true,
      preset: 'tiny',
      ...defaultRunLengths('tiny'),
      checkpointMinutes: 10,
      adaTarget: 0.6,
    } satisfies TrainFolderParams,
  ]);
  form.initFrom = ' /w/ffhq.pkl ';
  form.backend = 'wasm';
  form.replicas = 2;
  form.r1Gamma = 1;
  assert.deepEqual(form.params(), {
    datasetId: 3,
    preset: 'tiny',
    ...defaultRunLengths('tiny'),
    checkpointMinutes: 10,
    adaTarget: 0.6,
    r1Gamma: 1,
    initFrom: '/w/ffhq.pkl',
    freezeD: 10,
    backend: 'wasm',
    replicas: 2,
  } satisfies CreateRunParams);
});

test('a fork takes its parent’s settings and checkpoint, keeps its length across presets, and ends once created', async () => {
  const fake = fakeApi({ createRun: async () => ({ id: 8 }) as RunSummary });
  const form = new RunForm(fake.api);
  form.fork(parent);
  assert.deepEqual(form.forkFrom, { checkpointId: 41, kimg: 123.456, label: 'run #7 at 123.46 kimg' });
  form.choosePreset('128');
  assert.deepEqual(form.params(), {
    datasetId: 3,
    preset: '128',
    targetKimg: 500,
    snapshotKimg: 2,
    checkpointKimg: 8,
    checkpointMinutes: 30,
    adaTarget: 0.7,
    r1Gamma: 0.5,
    fromCheckpointId: 41,
    replicas: 2,
  } satisfies CreateRunParams);
  await form.create();
  assert.equal(form.forkFrom, null, 'the next run is a new one again');
  form.fork({ ...parent, lastCheckpoint: null });
  assert.equal(form.forkFrom, null, 'no checkpoint: nothing to fork from');
});

test('Create run’s error is kept, with the fork, until the next try', async () => {
  let fail = true;
  const fake = fakeApi({
    createRun: async () => {
      if (fail) throw new Error('the dataset has no accepted images');
      return { id: 8 } as RunSummary;
    },
  });
  const form = new RunForm(fake.api);
  form.fork(parent);
  assert.equal(await form.create(), null);
  assert.equal(form.createError, 'the dataset has no accepted images');
  assert.equal(form.forkFrom?.checkpointId, 41, 'the fork is not lost');
  fail = false;
  assert.equal((await form.create())?.id, 8);
  assert.equal(form.createError, null);
});

test('checkpoint scores: on with 1,000 birds unless changed; off sends 0; a fork keeps its parent’s', () => {
  const form = new RunForm(fakeApi({}).api);
  form.datasetId = 3;
  assert.equal(form.params()!.kidImages, undefined, 'the core’s default, 1,000 birds');
  form.kidImages = 200;
  assert.equal(form.params()!.kidImages, 200);
  form.scoreCheckpoints = false;
  assert.equal(form.params()!.kidImages, 0, 'off');
  form.fork({ ...parent, kidImages: 64 });
  assert.equal(form.params()!.kidImages, 64, 'the same score as the parent’s: one chart compares like with like');
  form.fork({ ...parent, kidImages: 0 });
  assert.equal(form.params()!.kidImages, 0);
});
