import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Studio } from '../../main/core/studio.js';
import { mkdirSync } from 'node:fs';
import { REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';
import { writePlates } from '../helpers/plates.js';

const COUNT = 120;

test('an ingest can be cancelled mid-way; opening the folder again carries on without redoing finished files', async () => {
  const tmp = tempDir('cancel');
  const studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    concurrency: 2,
  });
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  writePlates(folder, COUNT);
  try {
    const { id } = await studio.openDataset({ folder, resolution: 256, crop: 'centre' });
    await waitFor(() => studio.datasets.countSources(id).accepted >= 5, 30_000, 'a few plates ingested');
    const summary = await studio.cancelIngest({ datasetId: id });
    assert.equal(summary.progress.phase, 'cancelled');
    const done = studio.datasets.listAllSources(id);
    assert.ok(done.length < COUNT, `cancelled before the end (${done.length} done)`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(studio.datasets.listAllSources(id).length, done.length, 'nothing more is processed after cancel');

    await studio.openDataset({ folder, resolution: 256, crop: 'centre' });
    await waitFor(() => studio.ingestor(id)?.progress.phase === 'watching', 60_000, 'second pass finished');
    assert.equal(studio.datasets.countSources(id).accepted, COUNT);
    const after = new Map(studio.datasets.listAllSources(id).map((r) => [r.path, r.updated_at]));
    for (const row of done) assert.equal(after.get(row.path), row.updated_at, `${row.path} was not decoded again`);
  } finally {
    await studio.close();
    tmp.cleanup();
  }
});
