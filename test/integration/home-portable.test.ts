/**
 * A home is a folder a user can copy, move or restore from a backup: each opens and trains on
 * from its own checkpoints, and never reads, writes or deletes another home's files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { promisify } from 'node:util';
import { Studio } from '../../main/core/studio.js';
import { CLI, REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';
import { asWrittenBySchema5, assertSameTree, hashTree } from '../helpers/home-tree.js';

const STEP_KIMG = 0.008; // the tiny preset's batch of 8
const exec = promisify(execFile);

let tmp: ReturnType<typeof tempDir>;
/** The original home: run A trained 4 steps (checkpoints 2–4 kept), a fine-tune B, two favourites. */
let H: string;
/** A generator file outside every home, kept as a favourite. */
let outside: string;
let runA: number;
let runB: number;
let favouriteOfRun: number;
let looseFavourite: number;

const open = (home: string): Studio =>
  Studio.open({
    home,
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    galleryInProcess: true,
    training: { tickSeconds: 0.2, backoffMs: 100, maxRestarts: 3 },
  });

const inside = (home: string, path: string): boolean => path.startsWith(home + sep);

async function untilAtRest(studio: Studio, runId: number): Promise<string> {
  const state = (): string => studio.training.runs.getRun(runId)!.state;
  return waitFor(
    () => (['done', 'crashed', 'paused', 'stopped'].includes(state()) ? state() : ''),
    180_000,
    `run ${runId} to finish (is ${state()})`,
  );
}

/** Trains run A on to `toSteps`; returns the steps its trainer (re)started at and where it came to rest. */
async function train(studio: Studio, toSteps: number): Promise<{ resumedAt: number[]; state: string }> {
  const resumedAt: number[] = [];
  studio.training.extendRun(runA, toSteps * STEP_KIMG);
  studio.training.startRun(runA);
  studio.training
    .supervisorOf(runA)!
    .on('started', () => resumedAt.push(Math.round(studio.training.runs.getRun(runA)!.kimg / STEP_KIMG)));
  const state = await untilAtRest(studio, runA);
  return { resumedAt, state };
}

before(async () => {
  tmp = tempDir('home-portable');
  H = join(tmp.dir, 'H');
  const studio = open(H);
  try {
    await studio.ingestOnce(SAMPLE_PLATES, 64, 'centre');
    const datasetId = studio.datasets.listDatasets()[0]!.id;
    const run = await studio.createRun({
      datasetId,
      preset: 'tiny',
      targetKimg: 4 * STEP_KIMG,
      snapshotKimg: 2 * STEP_KIMG,
      checkpointKimg: STEP_KIMG, // one per step: retention (keep 3) deletes as it goes
      seed: 5,
      replicas: 1,
    });
    runA = run.id;
    studio.training.startRun(runA);
    assert.equal(await untilAtRest(studio, runA), 'done');
    const kept = studio.training.runs.listCheckpoints(runA);
    assert.deepEqual(
      kept.map((c) => c.step),
      [2, 3, 4],
    );
    // A favourite protects the oldest kept checkpoint from retention, in every home made from this one.
    favouriteOfRun = (
      await studio.addFavourite({
        generator: { runId: runA, checkpointId: kept[0]!.id },
        seed: 7,
        psi: 0.7,
        noiseMode: 'const',
      })
    ).id;
    mkdirSync(join(tmp.dir, 'elsewhere'));
    outside = join(tmp.dir, 'elsewhere', 'loose.safetensors');
    copyFileSync(kept[2]!.path, outside);
    looseFavourite = (
      await studio.addFavourite({ generator: { file: outside }, seed: 3, psi: 0.5, noiseMode: 'const' })
    ).id;
    runB = (
      await studio.createRun({
        datasetId,
        preset: 'tiny',
        targetKimg: 1,
        snapshotKimg: 1,
        checkpointKimg: 1,
        initFrom: kept[0]!.path, // a fine-tune of a checkpoint inside the home
      })
    ).id;
  } finally {
    await studio.close();
  }
});

after(() => tmp?.cleanup());

/**
 * Trains run A on in `home` (3 more steps) and checks it used only its own files: resumed at
 * step 4 from its own checkpoint, listed files inside it, retention removed only its own.
 */
async function trainsOnItsOwn(home: string): Promise<void> {
  const studio = open(home);
  try {
    const { resumedAt, state } = await train(studio, 7);
    const run = studio.training.runs.getRun(runA)!;
    assert.equal(state, 'done', `run A trained on (${run.error ?? ''})`);
    assert.deepEqual(resumedAt, [4], 'resumed from its own step-4 checkpoint');
    const listed = studio.training.runs.listCheckpoints(runA);
    assert.deepEqual(
      listed.map((c) => c.step),
      [2, 5, 6, 7],
      'the favourite’s checkpoint and the newest 3',
    );
    for (const c of listed) {
      assert.ok(inside(home, c.path), `${c.path} is inside ${home}`);
      assert.ok(existsSync(c.path), `${c.path} exists`);
    }
    const files = readdirSync(join(home, 'checkpoints', `run-${runA}`));
    assert.deepEqual(
      files.filter((f) => f.startsWith('ckpt-')).sort(),
      listed.map((c) => basename(c.path)).sort(),
      'retention deleted its own old files',
    );
    // The G_ema files written with its grids: each held by a grid of this home, and inside it.
    const live = studio.training.runs.liveGenerators(runA).map((g) => g.generator!);
    for (const g of live) assert.ok(inside(home, g), `${g} is inside ${home}`);
    assert.deepEqual(
      files.filter((f) => f.startsWith('gema-')).sort(),
      live.map((g) => basename(g)).sort(),
      'and of the G_ema files, only those its grids hold',
    );
    const [byRun, loose] = [studio.gallery.getFavourite(favouriteOfRun), studio.gallery.getFavourite(looseFavourite)];
    assert.equal(byRun.generatorPath, listed[0]!.path, 'a favourite of a checkpoint follows the home');
    assert.equal(byRun.fileMissing, false);
    assert.equal(loose.generatorPath, outside, 'a file outside the home stays where it is, absolute');
    assert.equal(
      studio.training.runs.getRun(runB)!.init_from,
      listed[0]!.path,
      'a fine-tune’s generator inside the home follows it',
    );
    assert.equal(
      (await studio.listDatasets())[0]!.folder,
      SAMPLE_PLATES,
      'the dataset folder (outside) stays absolute',
    );
    const model = await studio.openGenerator({ runId: runA });
    assert.ok(inside(home, model.file), `the gallery opens ${model.file} from this home`);
  } finally {
    await studio.close();
  }
}

test('a copy (cp -r) of a home an earlier version wrote trains on from its own files; the original is byte-identical', async () => {
  const L = join(tmp.dir, 'L');
  cpSync(H, L, { recursive: true });
  asWrittenBySchema5(L, H); // the original, as today's users have it
  const original = hashTree(L);
  const C = join(tmp.dir, 'C');
  cpSync(L, C, { recursive: true });
  await trainsOnItsOwn(C);
  // `generate --run` in the copy draws from the copy's checkpoint.
  const { stdout } = await exec(process.execPath, [CLI, 'generate', '--run', String(runA), '--seeds', '0', '--out', join(tmp.dir, 'drawn'), '--home', C]); // prettier-ignore
  assert.match(stdout, new RegExp(`\\(${C}/checkpoints/run-${runA}/ckpt-0+7\\.safetensors\\)`));
  assertSameTree(L, original, 'the original home');
});

test('a moved (renamed) home an earlier version wrote opens and trains on: no checkpoint is missing', async () => {
  const before = join(tmp.dir, 'M-before');
  cpSync(H, before, { recursive: true });
  asWrittenBySchema5(before, H);
  const M = join(tmp.dir, 'M');
  renameSync(before, M);
  await trainsOnItsOwn(M);
  assert.ok(!existsSync(before), 'nothing was written where the home used to be');
});

test('a checkpoint found missing comes back when its file is there again', async () => {
  const home = join(tmp.dir, 'M');
  const studio = open(home);
  try {
    const runs = studio.training.runs;
    const damaged = async (step: number): Promise<string | null | undefined> =>
      (await studio.getRun({ runId: runA })).checkpoints.find((c) => c.step === step)?.damaged;
    // The newest file is moved away: the run resumes from the one before, trains past it, and
    // every checkpoint it then lists is on disk (the rewritten step-7 file is not deleted with the old row).
    const newest = runs.latestCheckpoint(runA)!;
    const aside = join(tmp.dir, 'aside.safetensors');
    renameSync(newest.path, aside);
    assert.equal(await damaged(7), 'the file is missing');
    renameSync(aside, newest.path);
    assert.equal(await damaged(7), null, 'back as soon as the file is');
    renameSync(newest.path, aside);
    const first = await train(studio, 9);
    assert.equal(first.state, 'done', runs.getRun(runA)!.error ?? '');
    assert.deepEqual(first.resumedAt, [6]);
    for (const c of runs.listCheckpoints(runA)) assert.ok(existsSync(c.path), `${c.path} (step ${c.step}) is on disk`);
    rmSync(aside);

    // Every file gone (the folder moved aside): the run cannot start, says why, and stays resumable.
    const dir = join(home, 'checkpoints', `run-${runA}`);
    renameSync(dir, `${dir}.away`);
    const second = await train(studio, 10);
    const run = await studio.getRun({ runId: runA });
    assert.equal(second.state, 'crashed');
    assert.match(run.error ?? '', /missing/);
    assert.equal(run.cannotResume, null, 'a missing file is a finding, not a verdict');
    assert.ok(run.checkpoints.every((c) => c.damaged === 'the file is missing'));
    renameSync(`${dir}.away`, dir);
    assert.ok((await studio.getRun({ runId: runA })).checkpoints.every((c) => c.damaged === null));
    const third = await train(studio, 10);
    assert.equal(third.state, 'done', runs.getRun(runA)!.error ?? '');
    assert.deepEqual(third.resumedAt, [9], 'resumed from its newest checkpoint, found again');
  } finally {
    await studio.close();
  }
});

test('a copy whose run folder links into the original does not train into it, and says why', async () => {
  const K = join(tmp.dir, 'K');
  cpSync(H, K, { recursive: true });
  const dir = join(K, 'checkpoints', `run-${runA}`);
  rmSync(dir, { recursive: true });
  symlinkSync(join(H, 'checkpoints', `run-${runA}`), dir); // as `cp -r` keeps a link the user made
  const original = hashTree(H);
  const studio = open(K);
  try {
    studio.training.extendRun(runA, 7 * STEP_KIMG);
    assert.throws(
      () => studio.training.startRun(runA),
      new RegExp(`run ${runA} cannot start: Plumage will not write to .*: checkpoints/run-${runA} is a link to ${H}`),
    );
    assert.equal(studio.training.runs.getRun(runA)!.state, 'done', 'nothing started');
  } finally {
    await studio.close();
  }
  assertSameTree(H, original, 'the original home');
});

test('a home restored from a backup to a new place, the original gone, trains on; the backup is untouched', async () => {
  const backup = join(tmp.dir, 'backup');
  cpSync(H, backup, { recursive: true });
  const saved = hashTree(backup);
  rmSync(H, { recursive: true });
  const R = join(tmp.dir, 'R');
  cpSync(backup, R, { recursive: true });
  await trainsOnItsOwn(R);
  assert.ok(!existsSync(H), 'nothing was written where the original used to be');
  assertSameTree(backup, saved, 'the backup');
});
