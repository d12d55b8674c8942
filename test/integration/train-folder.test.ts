import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary } from '../../preload/contract.js';
import { defaultRunLengths } from '../../main/common/vocabulary.js';
import { Studio } from '../../main/core/studio.js';
import { chooseDataset, runToResume, type TrainFolderStep } from '../../main/core/train/train-folder.js';
import type { DatasetRow } from '../../main/core/store/datasets.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';
import { PLATE_NAMES, plate } from '../helpers/plates.js';

// "Train this folder" as `plumage train` decided it before the workflow moved into the core:
// the folder's dataset is reused, its run of the preset resumes (extended by a larger --kimg, on
// an asked-for backend) unless it is training or finished, and a new run takes the one rule's lengths.

let tmp: ReturnType<typeof tempDir>;
let studio: Studio;

before(() => {
  tmp = tempDir('train-folder');
  studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
  });
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

const setRun = (id: number, fields: Parameters<Studio['training']['runs']['updateRun']>[1]): void =>
  studio.training.runs.updateRun(id, fields);
const row = (id: number) => studio.training.runs.getRun(id)!;

test('a folder never trained: a new dataset at 64² centre, a new run with the default lengths, each step said', async () => {
  const steps: TrainFolderStep['step'][] = [];
  const r = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny' }, (s) => steps.push(s.step));
  assert.deepEqual(steps, ['dataset', 'created'], 'no reuse step for a new dataset');
  assert.equal(r.action, 'created');
  assert.equal(r.reused, false);
  assert.equal(r.fromKimg, 0);
  assert.deepEqual([r.ingest.resolution, r.ingest.crop], [64, 'centre']);
  assert.ok(r.ingest.accepted > 0);
  const d = defaultRunLengths('tiny');
  assert.deepEqual(
    [r.run.targetKimg, r.run.snapshotKimg, r.run.checkpointKimg],
    [d.targetKimg, d.snapshotKimg, d.checkpointKimg],
  );
  assert.equal(r.run.state, 'created', 'the workflow does not start the run');
  assert.equal(r.run.datasetId, r.datasetId);
});

test('the same folder again: its dataset is reused and its run (created, never started) resumes', async () => {
  const first = (await studio.listRuns())[0]!;
  const steps: TrainFolderStep[] = [];
  const r = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny' }, (s) => steps.push(s));
  assert.deepEqual(
    steps.map((s) => s.step),
    ['reuse', 'dataset', 'resume'],
  );
  assert.equal(r.action, 'resumed');
  assert.equal(r.reused, true);
  assert.equal(r.run.id, first.id);
  assert.equal((await studio.listRuns()).length, 1, 'no second run');
});

test('a paused run resumes, and --kimg sets its new length', async () => {
  const id = (await studio.listRuns())[0]!.id;
  setRun(id, { state: 'paused', kimg: 3 });
  const r = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny', targetKimg: 50 });
  assert.equal(r.action, 'resumed');
  assert.equal(r.run.id, id);
  assert.equal(row(id).target_kimg, 50);
  assert.equal(r.run.targetKimg, 50, 'the result shows the run as it now is');
  assert.equal(r.fromKimg, 0, 'no checkpoint on disk: it trains again from the start');
});

test('a finished run: a larger --kimg extends it; none (or a smaller one) starts a new run', async () => {
  const id = (await studio.listRuns())[0]!.id;
  setRun(id, { state: 'done', kimg: 50, target_kimg: 50 });
  const again = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny', targetKimg: 40 });
  assert.equal(again.action, 'created');
  assert.notEqual(again.run.id, id);
  assert.deepEqual([again.run.targetKimg, again.run.snapshotKimg, again.run.checkpointKimg], [40, 1, 5]);
  await studio.deleteRun({ runId: again.run.id });

  const same = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny' });
  assert.equal(same.action, 'created', 'a finished run is not trained again unasked');
  await studio.deleteRun({ runId: same.run.id });

  const longer = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny', targetKimg: 80 });
  assert.equal(longer.action, 'resumed');
  assert.equal(longer.run.id, id);
  assert.equal(row(id).target_kimg, 80);
});

test('a backend asked for on resume is the one the run trains on next', async () => {
  const id = (await studio.listRuns())[0]!.id;
  setRun(id, { state: 'paused' });
  const r = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny', backend: 'cpu' });
  assert.equal(r.run.id, id);
  assert.equal((JSON.parse(row(id).config) as { backend?: string }).backend, 'cpu');
});

test('another resolution is another dataset of the folder, and so another run', async () => {
  const before = await studio.listRuns();
  const r = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny', resolution: 128 });
  assert.equal(r.reused, false);
  assert.equal(r.ingest.resolution, 128);
  assert.equal(r.action, 'created');
  assert.ok(!before.some((b) => b.id === r.run.id));
  assert.notEqual(r.datasetId, before[0]!.datasetId);
  // Asked again without a resolution, the folder's most recently opened dataset that fits is reused.
  const again = await studio.trainFolder({ folder: SAMPLE_PLATES, preset: 'tiny' });
  assert.equal(again.reused, true);
  await studio.deleteRun({ runId: r.run.id });
});

test('the request is validated like every other: a bad field is named', async () => {
  await assert.rejects(
    studio.handle('trainFolder', { folder: SAMPLE_PLATES, preset: 'huge' }),
    /invalid input for trainFolder: preset: must be one of/,
  );
  await assert.rejects(studio.handle('trainFolder', { folder: SAMPLE_PLATES }), /preset/);
  await assert.rejects(
    studio.handle('trainFolder', { folder: SAMPLE_PLATES, preset: 'tiny', targetKimg: -1 }),
    /targetKimg: must be a positive number/,
  );
});

// The two decisions as pure rules, over rows the store could hold.
const run = (over: Partial<RunSummary>): RunSummary =>
  ({ id: 1, datasetId: 1, preset: 'tiny', state: 'paused', kimg: 10, ...over }) as RunSummary;

test('runToResume: training runs and other presets or datasets are never resumed; finished ones only to go further', () => {
  const cases: [string, RunSummary[], { preset: 'tiny' | '64'; targetKimg?: number }, number | undefined][] = [
    ['paused', [run({})], { preset: 'tiny' }, 1],
    ['crashed', [run({ state: 'crashed' })], { preset: 'tiny' }, 1],
    ['stopped', [run({ state: 'stopped' })], { preset: 'tiny' }, 1],
    ['created', [run({ state: 'created' })], { preset: 'tiny' }, 1],
    ['running elsewhere', [run({ state: 'running' })], { preset: 'tiny' }, undefined],
    ['another preset', [run({})], { preset: '64' }, undefined],
    ['another dataset', [run({ datasetId: 2 })], { preset: 'tiny' }, undefined],
    ['done', [run({ state: 'done' })], { preset: 'tiny' }, undefined],
    ['done, --kimg not past it', [run({ state: 'done' })], { preset: 'tiny', targetKimg: 10 }, undefined],
    ['done, --kimg past it', [run({ state: 'done' })], { preset: 'tiny', targetKimg: 11 }, 1],
    ['the newest first', [run({ id: 3 }), run({ id: 2 })], { preset: 'tiny' }, 3],
    ['a running one skipped', [run({ id: 3, state: 'running' }), run({ id: 2 })], { preset: 'tiny' }, 2],
    [
      'a finished newer one does not hide a paused one',
      [run({ id: 3, state: 'done' }), run({ id: 2 })],
      { preset: 'tiny' },
      2,
    ],
  ];
  for (const [name, runs, p, want] of cases) assert.equal(runToResume(runs, 1, p)?.id, want, name);
});

test('runToResume with --from: only a run that started from that file resumes; without it, any origin does', () => {
  const fromA = run({ id: 2, startedFrom: { file: '/x/a.pkl' } as RunSummary['startedFrom'] });
  const fresh = run({ id: 1, startedFrom: null });
  const cases: [string, RunSummary[], string | undefined, number | undefined][] = [
    ['a fresh run is not resumed by --from', [fresh], '/x/a.pkl', undefined],
    ['another file is not resumed', [fromA], '/x/b.pkl', undefined],
    ['the same file resumes', [fresh, fromA], '/x/a.pkl', 2],
    ['the same file, written relatively', [fromA], '/x/../x/a.pkl', 2],
    ['no --from: the newest of any origin', [fromA, fresh], undefined, 2],
  ];
  for (const [name, runs, initFrom, want] of cases)
    assert.equal(runToResume(runs, 1, { preset: 'tiny', ...(initFrom ? { initFrom } : {}) })?.id, want, name);
});

test("chooseDataset: the folder's dataset that can feed the preset and matches what was asked, else a new one", () => {
  const ds = (id: number, resolution: 64 | 128 | 256, crop: 'centre' | 'pad' = 'centre'): DatasetRow =>
    ({ id, folder: '/birds', resolution, crop }) as DatasetRow;
  const rows = [ds(3, 128, 'pad'), ds(2, 64)];
  assert.equal(chooseDataset(rows, '/birds', 64, undefined, undefined).existing?.id, 3);
  assert.equal(chooseDataset(rows, '/birds', 64, 64, undefined).existing?.id, 2);
  assert.equal(chooseDataset(rows, '/birds', 64, undefined, 'centre').existing?.id, 2);
  assert.equal(chooseDataset(rows, '/birds', 256, undefined, undefined).existing, undefined);
  assert.deepEqual(chooseDataset(rows, '/other', 32, undefined, undefined), {
    resolution: 64,
    crop: 'centre',
    existing: undefined,
  });
  assert.deepEqual(chooseDataset([], '/birds', 256, undefined, 'subject'), {
    resolution: 256,
    crop: 'subject',
    existing: undefined,
  });
});

test("a watched dataset (the app's): trainFolder waits on its ingestor, never restarts it, and it keeps watching", async () => {
  const folder = join(tmp.dir, 'watched');
  mkdirSync(folder);
  const [a, b, c, d] = PLATE_NAMES as [string, string, string, string];
  for (const f of [a, b, c]) copyFileSync(plate(f), join(folder, f));
  const app = Studio.open({
    home: join(tmp.dir, 'app-home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    settleMs: 150,
  });
  try {
    const phases: string[] = [];
    app.on('ingestProgress', (p) => phases.push(p.phase));
    const ds = await app.openDataset({ folder, resolution: 64, crop: 'centre' });
    // Sent while the app's first pass is under way: it waits for that pass rather than starting one.
    const r = await app.trainFolder({ folder, preset: 'tiny' });
    assert.equal(r.datasetId, ds.id);
    assert.equal(r.ingest.accepted, 3, 'the report is of the pass it waited for');
    assert.equal(phases.filter((p) => p === 'scanning').length, 1, `the app's pass only: ${phases.join(' ')}`);
    await waitFor(() => app.ingestor(ds.id)?.progress.phase === 'watching', 15_000, 'still watching');
    // Its watcher still hears the folder: a bird added after trainFolder is ingested.
    copyFileSync(plate(d), join(folder, d));
    await waitFor(async () => (await app.getDataset({ datasetId: ds.id })).counts.accepted === 4, 15_000, 'new file');
    assert.equal(phases.filter((p) => p === 'scanning').length, 1, 'the watcher, not a new pass, took it');
  } finally {
    await app.close();
  }
});

test("a dataset whose folder has gone trains on its cache, and says so; a folder never known is still 'not found'", async () => {
  const folder = join(tmp.dir, 'moved-away');
  mkdirSync(folder);
  for (const f of PLATE_NAMES.slice(0, 3)) copyFileSync(plate(f), join(folder, f));
  const first = await studio.trainFolder({ folder, preset: 'tiny' });
  assert.equal(first.ingest.accepted, 3);
  assert.equal(first.ingest.folderGone, undefined);
  renameSync(folder, `${folder}-elsewhere`); // the user moved it (or unplugged its drive)
  const steps: TrainFolderStep[] = [];
  const r = await studio.trainFolder({ folder, preset: 'tiny', newRun: true }, (s) => steps.push(s));
  assert.equal(r.datasetId, first.datasetId, 'the same dataset');
  assert.equal(r.ingest.folderGone, true);
  assert.equal(r.ingest.accepted, 3, "what the cache holds: the folder's three plates");
  assert.equal(r.action, 'created');
  const said = steps.find((s) => s.step === 'dataset');
  assert.ok(said?.step === 'dataset' && said.ingest.folderGone, 'the step says the folder is gone');
  await assert.rejects(
    studio.trainFolder({ folder: join(tmp.dir, 'never-there'), preset: 'tiny' }),
    /folder not found: .*never-there/,
  );
});
