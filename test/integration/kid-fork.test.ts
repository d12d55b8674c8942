import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Studio } from '../../main/core/studio.js';
import type { CheckpointScore } from '../../preload/contract.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';

const STEP_KIMG = 0.008; // the tiny preset's batch of 8
const tmp = tempDir('kid-fork');
let studio: Studio;

before(async () => {
  studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    scoreCheckpoints: true,
    training: { tickSeconds: 0.2, backoffMs: 100, maxRestarts: 3 },
  });
  await studio.ingestOnce(SAMPLE_PLATES, 64, 'centre');
});
after(async () => {
  await studio.close();
  tmp.cleanup();
});

test("a fork's checkpoints are scored like its parent's, and both runs' scores come in one lineage", async () => {
  const datasetId = studio.datasets.listDatasets()[0]!.id;
  const heard: CheckpointScore[] = [];
  studio.on('checkpointScored', (s) => heard.push(s));
  const settled = (runId: number, scores: number): Promise<unknown> =>
    waitFor(
      () =>
        studio.training.runs.getRun(runId)!.state === 'done' &&
        heard.filter((s) => s.runId === runId).length >= scores &&
        studio.scorer.pending === 0,
      900_000,
      `run ${runId} to finish and be scored`,
    ).catch((err: Error) => {
      const state = studio.training.runs.getRun(runId)!.state;
      throw new Error(
        `${err.message} (run ${state}; heard ${JSON.stringify(heard)}; ${studio.scorer.pending} pending)`,
      );
    });
  const common = { datasetId, preset: 'tiny' as const, snapshotKimg: 1, checkpointKimg: 2 * STEP_KIMG, kidImages: 4 };
  const parent = await studio.handle('createRun', { ...common, targetKimg: 2 * STEP_KIMG, seed: 5 });
  studio.training.startRun(parent.id);
  await settled(parent.id, 1);
  const from = studio.training.runs.latestCheckpoint(parent.id)!;
  const fork = await studio.handle('createRun', {
    ...common,
    targetKimg: 4 * STEP_KIMG,
    seed: 6,
    fromCheckpointId: from.id,
  });
  studio.training.startRun(fork.id);
  await settled(fork.id, 1);

  const mine = heard.filter((s) => s.runId === fork.id);
  assert.equal(mine[0]!.error, null, JSON.stringify(mine[0]));
  assert.ok(Math.abs(mine.at(-1)!.kimg - 4 * STEP_KIMG) < 1e-9, 'the fork counts on from its parent’s kimg');
  const lineage = await studio.handle('listCheckpointScores', { runId: fork.id });
  assert.deepEqual(
    lineage.map((r) => r.runId),
    [fork.id, parent.id],
    'the fork first, then its parent',
  );
  assert.ok(
    lineage[0]!.scores.some((s) => s.kid !== null),
    'the fork’s own score is listed',
  );
  assert.ok(
    lineage[1]!.scores.some((s) => s.kid !== null),
    'the parent’s score beside it',
  );
  // Where the fork's line starts on the chart: the parent's score at the checkpoint it branched from.
  // (The fork has let go of the checkpoint pointer by now: it wrote checkpoints of its own.)
  assert.equal(studio.training.runs.getRun(fork.id)!.parent_checkpoint_id, null);
  assert.equal(lineage[0]!.branchKimg, from.kimg);
  assert.equal(lineage[1]!.branchKimg, null);
  const branch = lineage[1]!.scores.find((s) => s.checkpointId === from.id);
  assert.ok(branch && branch.kid !== null, `the branch checkpoint is scored: ${JSON.stringify(lineage[1]!.scores)}`);
  assert.equal(branch.kimg, from.kimg);
});
