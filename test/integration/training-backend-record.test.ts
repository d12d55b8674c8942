/**
 * The backend a run trained on, its description (adapter included) and the hint about a faster
 * one are stored with the run, so the Training view shows them after a restart of the app or
 * server, before the trainer starts again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Studio } from '../../main/core/studio.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';

let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('backend-record');
});
after(() => tmp.cleanup());

const open = (home: string): Studio =>
  Studio.open({
    home,
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    training: { tickSeconds: 0.2 },
  });

test('the backend, its description and the hint survive a restart, read over the API', async () => {
  const home = join(tmp.dir, 'home');
  let studio = open(home);
  let runId: number;
  let said: { backend: string; description: string; hint: string | null };
  try {
    await studio.ingestOnce(SAMPLE_PLATES, 64, 'centre');
    const datasetId = studio.datasets.listDatasets()[0]!.id;
    const run = await studio.createRun({
      datasetId,
      preset: 'tiny',
      targetKimg: 100,
      snapshotKimg: 50,
      checkpointKimg: 50,
    });
    runId = run.id;
    assert.equal(run.backendKind, null, 'nothing is known before the first start');
    studio.training.startRun(runId);
    const started = new Promise<typeof said>((resolve) =>
      studio.training.supervisorOf(runId)!.once('started', (m) => resolve(m)),
    );
    said = await started;
    await waitFor(() => studio.training.getRun(runId).backendKind, 30_000, 'the start to be recorded');
    await studio.training.pauseRun(runId);
  } finally {
    await studio.close();
  }

  studio = open(home); // a restart: no supervisor, no trainer, only the database
  try {
    const listed = (await studio.handle('listRuns', {})).find((r) => r.id === runId)!;
    const detail = await studio.handle('getRun', { runId });
    for (const r of [listed, detail]) {
      assert.equal(r.state, 'paused');
      assert.equal(r.backendKind, said.backend);
      assert.equal(r.backend, said.description);
      assert.equal(r.backendHint, said.hint);
    }
    assert.equal(studio.training.supervisorOf(runId), undefined, 'read from the database, not a trainer');
  } finally {
    await studio.close();
  }
});
