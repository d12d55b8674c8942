import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { PREVIEW_SIDE } from '../../main/core/dataset/preview.js';
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
    await assert.rejects(
      studio.handle('forgetDataset', { datasetId: b.id }),
      /run #\d+ \(created\) was trained on this dataset, .* delete that run first/,
    );

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

test('a file previews large as it is on disk; a rejected one where it can be drawn, else with the reason', async () => {
  const tmp = tempDir('preview');
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  const good = PLATE_NAMES[0]!;
  copyFileSync(plate(good), join(folder, good));
  const bytes = readFileSync(plate(PLATE_NAMES[1]!));
  writeFileSync(join(folder, 'cut off.jpg'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  writeFileSync(join(folder, 'caption.jpg'), 'Plate C. Marsh Wren — the caption, saved with the wrong name');
  const home = join(tmp.dir, 'home');
  const studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });
  try {
    await studio.ingestOnce(folder, 64, 'centre');
    const ds = (await studio.listDatasets())[0]!;
    const page = async (status: 'accepted' | 'rejected') =>
      (await studio.listSources({ datasetId: ds.id, status, offset: 0, limit: 10 })).items;
    const accepted = (await page('accepted')).find((i) => i.file === good)!;
    const shown = await studio.handle('previewSource', { datasetId: ds.id, sourceId: accepted.id });
    assert.equal(shown.file, join(folder, good));
    assert.ok(shown.preview, shown.why ?? '');
    const meta = await sharp(join(home, shown.preview)).metadata();
    const original = await sharp(plate(good)).metadata();
    const longest = Math.max(original.width!, original.height!);
    assert.equal(Math.max(meta.width!, meta.height!), Math.min(PREVIEW_SIDE, longest), 'large, never enlarged');

    const rejected = await page('rejected');
    const cut = rejected.find((i) => i.file === 'cut off.jpg')!;
    const cutPreview = await studio.handle('previewSource', { datasetId: ds.id, sourceId: cut.id });
    assert.match(cutPreview.reason ?? '', /truncated/);
    assert.ok(cutPreview.preview, `a truncated JPEG shows what arrived (${cutPreview.why})`);
    const text = rejected.find((i) => i.file === 'caption.jpg')!;
    const textPreview = await studio.handle('previewSource', { datasetId: ds.id, sourceId: text.id });
    assert.equal(textPreview.preview, null);
    assert.match(textPreview.why ?? '', /not an image \(the file holds text\)/);
    await assert.rejects(studio.handle('previewSource', { datasetId: ds.id, sourceId: 99_999 }), /no file with id/);
  } finally {
    await studio.close();
    tmp.cleanup();
  }
});

test('a finished run’s dataset is refused by name and state; a dataset is kept by its real folder', async () => {
  const tmp = tempDir('dataset-paths');
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  for (const p of PLATE_NAMES.slice(0, 2)) copyFileSync(plate(p), join(folder, p));
  symlinkSync(folder, join(tmp.dir, 'a-link'));
  const home = join(tmp.dir, 'home');
  const studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });
  const cwd = process.cwd();
  try {
    // `/proc/self/cwd` names another folder in every process that reads it: the real one is kept.
    process.chdir(folder);
    const viaProc = await studio.openDataset({ folder: '/proc/self/cwd', resolution: 64, crop: 'centre' });
    process.chdir(cwd);
    assert.equal(viaProc.folder, realpathSync(folder));
    const viaLink = await studio.openDataset({ folder: join(tmp.dir, 'a-link'), resolution: 64, crop: 'centre' });
    assert.equal(viaLink.id, viaProc.id, 'a link to the same folder is the same dataset');
    await waitFor(() => studio.datasets.countSources(viaProc.id).accepted === 2, 30_000, 'both plates ingested');

    const run = await studio.createRun({
      datasetId: viaProc.id,
      preset: 'tiny',
      targetKimg: 1,
      snapshotKimg: 1,
      checkpointKimg: 1,
    });
    studio.db.prepare("UPDATE runs SET state = 'done' WHERE id = ?").run(run.id);
    await assert.rejects(
      studio.handle('forgetDataset', { datasetId: viaProc.id }),
      new RegExp(`run #${run.id} \\(done\\) was trained on this dataset, and its record and checkpoints go with it: delete that run first`), // prettier-ignore
    );
  } finally {
    process.chdir(cwd);
    await studio.close();
    tmp.cleanup();
  }
});
