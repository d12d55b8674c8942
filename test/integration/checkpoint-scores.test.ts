import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Studio } from '../../main/core/studio.js';
import type { CheckpointScore } from '../../preload/contract.js';
import { AUTOGROUPS, autogroupOf } from '../helpers/autogroup.js';
import { CLI, REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';

const STEP_KIMG = 0.008; // the tiny preset's batch of 8
const tmp = tempDir('kid-scores');
const home = join(tmp.dir, 'home');
const open = (): Studio =>
  Studio.open({
    home,
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    scoreCheckpoints: true,
    training: { tickSeconds: 0.2, backoffMs: 100, maxRestarts: 3 },
  });
let studio: Studio;

before(async () => {
  studio = open();
  await studio.ingestOnce(SAMPLE_PLATES, 64, 'centre');
});
after(async () => {
  await studio.close();
  tmp.cleanup();
});

/** Niceness of this process's children (ps), pid → ni. */
function childNice(): Map<number, number> {
  const out = execFileSync('ps', ['-o', 'pid=,ni=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return new Map(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]),
  );
}

test('a tiny run with 2 checkpoints gets 2 stored scores, computed beside the trainer at the lowest priority', async () => {
  const datasetId = studio.datasets.listDatasets()[0]!.id;
  const heard: CheckpointScore[] = [];
  studio.on('checkpointScored', (s) => heard.push(s));
  const run = await studio.handle('createRun', {
    datasetId,
    preset: 'tiny',
    targetKimg: 4 * STEP_KIMG,
    snapshotKimg: 1,
    checkpointKimg: 2 * STEP_KIMG,
    seed: 5,
    kidImages: 8,
  });
  assert.equal(run.kidImages, 8);
  studio.training.startRun(run.id);
  // The scoring process runs at nice 19 while it scores (the trainer's at the default 0), in a
  // session of its own whose niceness is 19 too: the trainer has a session of its own, and
  // Linux shares the CPU between sessions before niceness counts.
  let sawNice19 = false;
  let scorerSession = null as ReturnType<typeof autogroupOf>;
  let lastPs = 0;
  await waitFor(
    () => {
      if (!sawNice19 && Date.now() - lastPs > 500) {
        lastPs = Date.now();
        const scorer = [...childNice()].find(([, ni]) => ni === 19);
        if (scorer) {
          scorerSession = autogroupOf(scorer[0]);
          sawNice19 = true;
        }
      }
      return studio.training.runs.getRun(run.id)!.state === 'done' && heard.length >= 2 && studio.scorer.pending === 0;
    },
    900_000,
    'the run to finish and its checkpoints to be scored',
  ).catch((err: Error) => {
    const state = studio.training.runs.getRun(run.id)!.state;
    throw new Error(`${err.message} (run ${state}, ${heard.length} scored, ${studio.scorer.pending} pending)`);
  });
  assert.ok(sawNice19, 'a nice-19 child scored the checkpoints');
  if (AUTOGROUPS) {
    assert.equal(scorerSession?.nice, 19, "the scorer's session runs below the trainer's");
    assert.notEqual(scorerSession?.group, autogroupOf('self')!.group, "not the studio's session");
  }

  const checkpoints = studio.training.runs.listCheckpoints(run.id);
  assert.equal(checkpoints.length, 2, 'steps 2 and 4');
  const [mine] = await studio.handle('listCheckpointScores', { runId: run.id });
  assert.equal(mine!.runId, run.id);
  assert.deepEqual(
    mine!.scores.map((s) => s.checkpointId),
    checkpoints.map((c) => c.id),
    'one score per checkpoint, in order',
  );
  for (const s of mine!.scores) {
    assert.equal(s.error, null);
    assert.equal(s.images, 8);
    assert.equal(s.label, 'Plumage KID (InceptionV3 mixed5, 8 images)');
    assert.ok(Number.isFinite(s.kid) && Number.isFinite(s.kidStd) && s.kidStd! >= 0, JSON.stringify(s));
    assert.ok(s.memorisation! >= 0 && s.memorisation! <= 1);
  }
  assert.deepEqual(
    heard.map((s) => s.checkpointId),
    checkpoints.map((c) => c.id),
    'each score announced as it was stored',
  );
});

test('a checkpoint left unscored (the app quit) is scored when the app runs again', async () => {
  const runId = studio.training.listRuns()[0]!.id;
  const latest = studio.training.runs.latestCheckpoint(runId)!;
  studio.db.prepare('DELETE FROM checkpoint_scores WHERE checkpoint_id = ?').run(latest.id);
  await studio.close();
  studio = open();
  const heard: CheckpointScore[] = [];
  studio.on('checkpointScored', (s) => heard.push(s));
  await studio.resume();
  await waitFor(() => heard.length === 1 && studio.scorer.pending === 0, 600_000, 'the missing score');
  assert.equal(heard[0]!.checkpointId, latest.id);
  assert.equal(heard[0]!.error, null);
  const [mine] = await studio.handle('listCheckpointScores', { runId });
  assert.equal(mine!.scores.length, 2);
});

test('plumage metrics --run N reads the stored score of its latest checkpoint (instantly), and says so', async () => {
  const runId = studio.training.listRuns()[0]!.id;
  const latest = studio.training.runs.latestCheckpoint(runId)!;
  const stored = studio.scores.forCheckpoint(latest.id)!;
  const json = JSON.parse(
    execFileSync(process.execPath, [CLI, 'metrics', '--run', String(runId), '--home', home, '--json'], {
      encoding: 'utf8',
    }),
  ) as Record<string, unknown>;
  assert.equal(json.stored, true);
  assert.equal(json.kid, stored.kid);
  assert.equal(json.kidStd, stored.kidStd);
  assert.equal(json.images, 8);
  assert.equal(json.memorisation, stored.memorisation);
  assert.equal(json.checkpointId, latest.id);
  const text = execFileSync(process.execPath, [CLI, 'metrics', '--run', String(runId), '--home', home], {
    encoding: 'utf8',
  });
  assert.match(text, /^Plumage KID \(InceptionV3 mixed5, 8 images\): \d\.\d{5} ± \d\.\d{5}\n/);
  assert.match(text, /stored: computed beside the trainer at .* for run \d+'s checkpoint #\d+ \(0\.032 kimg\)/);
});
