import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { safetensorsMetadata } from '../../main/core/netfile/safetensors.js';
import { Studio } from '../../main/core/studio.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';
import { cannotMount, mountSmallDisk, type SmallDisk } from '../helpers/small-disk.js';

/** The full disk: a small tmpfs mounted where the run writes its checkpoints. */
const skip = cannotMount();
let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let mounted: SmallDisk | null = null;

before(async () => {
  if (skip) return;
  tmp = tempDir('disk-full');
  studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    training: { tickSeconds: 0.3 },
  });
  await studio.ingestOnce(SAMPLE_PLATES, 64, 'centre');
});

after(async () => {
  if (skip) return;
  await studio.close();
  mounted?.unmount();
  tmp.cleanup();
});

test(
  'a full disk pauses the run with a clear error; the last checkpoint is intact; with room it resumes',
  { skip },
  async () => {
    const ds = studio.datasets.listDatasets()[0]!;
    const run = await studio.createRun({
      datasetId: ds.id,
      preset: 'tiny',
      targetKimg: 100,
      snapshotKimg: 50,
      checkpointKimg: 0.016,
    });
    const dir = join(tmp.dir, 'home', 'checkpoints', `run-${run.id}`);
    mounted = mountSmallDisk(dir, '8m'); // room for one 5.7 MB checkpoint, not two
    await studio.startRun({ runId: run.id });
    await waitFor(
      () => ['paused', 'crashed'].includes(studio.training.runs.getRun(run.id)!.state),
      120_000,
      'the run to stop on the full disk',
    );
    const stopped = studio.training.runs.getRun(run.id)!;
    assert.equal(stopped.state, 'paused');
    assert.match(
      stopped.error ?? '',
      /could not write a checkpoint .*: the disk is full \(ENOSPC\)\. Nothing was lost/,
    );
    const listed = studio.training.runs.listCheckpoints(run.id);
    assert.equal(listed.length, 1, 'the checkpoint that fitted is listed; the one that did not is not');
    await safetensorsMetadata(listed[0]!.path, { requireChecksum: true });
    // Beside the checkpoint, only the G_ema written with the first grid (held by it): no partial file.
    const held = [listed[0]!.path, ...studio.training.runs.liveGenerators(run.id).map((g) => g.generator!)];
    assert.deepEqual(
      readdirSync(dir).sort(),
      held.map((f) => f.split('/').pop()).sort(),
      'no partial file is left behind',
    );
    const db = new Database(join(tmp.dir, 'home', 'plumage.db'), { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();

    mounted.resize('64m'); // room again
    await studio.startRun({ runId: run.id });
    await waitFor(
      () => studio.training.runs.listCheckpoints(run.id).at(-1)!.step > listed[0]!.step,
      120_000,
      'a new checkpoint after making room',
    );
    await studio.pauseRun({ runId: run.id });
    assert.equal(studio.training.runs.getRun(run.id)!.error, null);
  },
);
