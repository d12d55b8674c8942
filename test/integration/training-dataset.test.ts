import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Studio } from '../../main/core/studio.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';

test('images that arrive in the watched folder join the dataset a running trainer samples from', async () => {
  const tmp = tempDir('growth');
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  const plates = readdirSync(SAMPLE_PLATES)
    .filter((f) => f.endsWith('.jpg'))
    .sort();
  for (const p of plates.slice(0, 6)) copyFileSync(join(SAMPLE_PLATES, p), join(folder, p));
  const studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    settleMs: 150,
    training: { tickSeconds: 0.3 },
  });
  try {
    const ds = await studio.openDataset({ folder, resolution: 64, crop: 'centre' });
    await waitFor(() => studio.ingestor(ds.id)?.progress.phase === 'watching', 30_000, 'first pass');
    const run = await studio.createRun({
      datasetId: ds.id,
      preset: 'tiny',
      targetKimg: 100,
      snapshotKimg: 50,
      checkpointKimg: 50,
    });
    await studio.startRun({ runId: run.id });
    const images = (): number[] => studio.training.runs.listTicks(run.id).map((t) => t.datasetImages ?? 0);
    await waitFor(() => images().includes(6), 60_000, 'a tick over the 6 plates');
    for (const p of plates.slice(6, 9)) copyFileSync(join(SAMPLE_PLATES, p), join(folder, p));
    await waitFor(
      () => images().includes(9),
      60_000,
      `a tick over 9 plates (saw ${[...new Set(images())].join(', ')})`,
    );
    assert.equal(studio.training.runs.getRun(run.id)!.state, 'running', 'without a restart');
    await studio.stopRun({ runId: run.id });
  } finally {
    await studio.close();
    tmp.cleanup();
  }
});
