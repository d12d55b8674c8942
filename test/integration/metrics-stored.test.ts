import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Studio } from '../../main/core/studio.js';
import { CLI, REPO_ROOT, SAMPLE_PLATES, tempDir } from '../helpers/paths.js';

// `plumage metrics --run N` and the scores stored while a run trained: the scores here are rows
// as the scorer writes them (checkpoint-scores.test.ts computes real ones, in minutes), so this
// file tests the reading and what the command says when it must compute instead.
const tmp = tempDir('metrics-stored');
const home = join(tmp.dir, 'home');
let scored: { runId: number; checkpointId: number };
let unscored: { runId: number; checkpointId: number };

before(async () => {
  const studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });
  try {
    await studio.ingestOnce(SAMPLE_PLATES, 64, 'centre');
    const datasetId = studio.datasets.listDatasets()[0]!.id;
    const common = { datasetId, preset: 'tiny' as const, targetKimg: 1, snapshotKimg: 1, checkpointKimg: 1 };
    const a = await studio.training.createRun({ ...common, kidImages: 8 });
    const b = await studio.training.createRun({ ...common, kidImages: 0 });
    const ckpt = (runId: number, step: number) =>
      studio.training.runs.recordCheckpoint(runId, {
        kimg: step / 1000,
        step,
        path: join(home, 'checkpoints', `run-${runId}`, `gone-${step}.safetensors`),
        sha256: 'x',
        bytes: 1,
      });
    const old = ckpt(a.id, 8);
    const c = ckpt(a.id, 16);
    for (const [at, kid] of [
      [old, 0.5],
      [c, 0.25],
    ] as const)
      studio.scores.record({
        checkpointId: at.id,
        runId: a.id,
        kimg: at.kimg,
        step: at.step,
        kid,
        kidStd: 0.0125,
        images: 8,
        memorisation: 0.125,
        label: 'Plumage KID (InceptionV3 mixed5, 8 images)',
        error: null,
      });
    scored = { runId: a.id, checkpointId: c.id };
    unscored = { runId: b.id, checkpointId: ckpt(b.id, 8).id };
  } finally {
    await studio.close();
  }
});
after(() => tmp.cleanup());

const metrics = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, 'metrics', '--home', home, ...args], { encoding: 'utf8', timeout: 120_000 });

test('metrics --run N prints the stored score of its latest checkpoint, and says it is stored', () => {
  const r = metrics('--run', String(scored.runId), '--json');
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(json.stored, true);
  assert.equal(json.checkpointId, scored.checkpointId);
  assert.equal(json.kid, 0.25);
  assert.equal(json.kidStd, 0.0125);
  assert.equal(json.images, 8);
  assert.equal(json.memorisation, 0.125);
  assert.equal(json.label, 'Plumage KID (InceptionV3 mixed5, 8 images)');

  const text = metrics('--run', String(scored.runId), '--checkpoint', String(scored.checkpointId - 1));
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^Plumage KID \(InceptionV3 mixed5, 8 images\): 0\.50000 ± 0\.01250\n/);
  assert.match(text.stdout, /stored: computed beside the trainer at \S+ for run \d+'s checkpoint #\d+ \(0\.008 kimg\)/);
  assert.match(text.stdout, /memorisation: 12\.5 %/);
});

test('without a stored score of those birds, metrics says so and computes (here: the checkpoint file is gone)', () => {
  const other = metrics('--run', String(scored.runId), '--images', '9');
  assert.match(
    other.stderr,
    /checkpoint #\d+ \(0\.016 kimg\): its stored score is of 8 birds, not 9; computing it now/,
  );
  assert.equal(other.status, 1, 'the checkpoint file is not there to compute from');
  assert.match(other.stderr, /gone-16\.safetensors/);

  const off = metrics('--run', String(unscored.runId));
  assert.match(off.stderr, /the run does not score its checkpoints; computing it now/);
  assert.equal(off.status, 1);
});
