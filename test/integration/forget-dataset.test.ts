import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Studio } from '../../main/core/studio.js';
import { REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';
import { PLATE_NAMES, plate } from '../helpers/plates.js';

test('forgetting a dataset removes its cache, thumbnails and rows, never the folder; refused while a run uses it', async () => {
  const tmp = tempDir('forget');
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  for (const p of PLATE_NAMES.slice(0, 4)) copyFileSync(plate(p), join(folder, p));
  const home = join(tmp.dir, 'home');
  const studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', settleMs: 150 });
  try {
    const a = await studio.openDataset({ folder, resolution: 64, crop: 'centre' });
    const b = await studio.openDataset({ folder, resolution: 64, crop: 'pad' });
    for (const id of [a.id, b.id])
      await waitFor(() => studio.ingestor(id)?.progress.phase === 'watching', 30_000, `dataset ${id} ingested`);
    const cacheA = a.cacheFile;
    assert.ok(existsSync(cacheA) && existsSync(join(home, 'thumbs', String(a.id))));

    const run = await studio.handle('createRun', {
      datasetId: b.id,
      preset: 'tiny',
      targetKimg: 1,
      snapshotKimg: 1,
      checkpointKimg: 1,
    });
    await assert.rejects(studio.handle('forgetDataset', { datasetId: b.id }), /run #\d+ train from this dataset/);

    const left = await studio.handle('forgetDataset', { datasetId: a.id });
    assert.deepEqual(
      left.map((d) => d.id),
      [b.id],
    );
    assert.equal(existsSync(cacheA), false, 'the training cache is gone');
    assert.equal(existsSync(join(home, 'thumbs', String(a.id))), false, 'its thumbnails are gone');
    assert.equal(studio.ingestor(a.id), undefined, 'no longer watched');
    assert.deepEqual(readdirSync(folder).sort(), PLATE_NAMES.slice(0, 4).slice().sort(), 'the folder is untouched');
    assert.ok(existsSync(join(home, 'thumbs', String(b.id))), "the other dataset's files stay");
    await assert.rejects(studio.handle('forgetDataset', { datasetId: a.id }), /no dataset with id/);
    await assert.rejects(studio.handle('forgetDataset', { datasetId: -1 }), /invalid input/);

    // Opening the folder again at the same settings makes it anew.
    const again = await studio.openDataset({ folder, resolution: 64, crop: 'centre' });
    await waitFor(() => studio.ingestor(again.id)?.progress.phase === 'watching', 30_000, 'reopened');
    assert.equal((await studio.getDataset({ datasetId: again.id })).counts.accepted, 4);
    await studio.handle('deleteRun', { runId: run.id });
  } finally {
    await studio.close();
    tmp.cleanup();
  }
});
