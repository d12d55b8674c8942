import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Studio } from '../../main/core/studio.js';
import { CLI, waitFor } from '../helpers/paths.js';
import { trainingStudio, type TrainingStudio } from '../helpers/runs.js';

const run = promisify(execFile);
let ctx: TrainingStudio;
let studio: Studio;
let home: string;
const STEP_KIMG = 0.008; // the tiny preset's batch of 8

before(async () => {
  ctx = await trainingStudio('gallery-runs');
  ({ studio, home } = ctx);
});

after(() => ctx.close());

test('a favourite of a run: drawn like `generate --run --kimg`, kept by retention, and deleting the run asks first', async () => {
  const datasetId = studio.datasets.listDatasets()[0]!.id;
  const r = await studio.createRun({
    datasetId,
    preset: 'tiny',
    targetKimg: 100,
    snapshotKimg: 10,
    checkpointKimg: STEP_KIMG, // a checkpoint every step: retention (keep 3) deletes the oldest at once
  });
  const runs = studio.training.runs;
  studio.training.startRun(r.id);
  await waitFor(() => runs.listCheckpoints(r.id).length >= 1, 90_000, 'a first checkpoint');
  await studio.pauseRun({ runId: r.id });
  const first = runs.listCheckpoints(r.id)[0]!;

  const latest = await studio.openGenerator({ runId: r.id });
  assert.equal(latest.checkpointId, runs.latestCheckpoint(r.id)!.id, 'a run opens at its latest checkpoint');
  const fav = await studio.addFavourite({
    generator: { runId: r.id, kimg: first.kimg },
    seed: 7,
    psi: 0.7,
    noiseMode: 'const',
  });
  assert.deepEqual(
    [fav.runId, fav.checkpointId, fav.kimg, fav.generatorPath],
    [r.id, first.id, first.kimg, first.path],
  );
  const drawn = await studio.renderFavourite({ id: fav.id });
  await studio.gallery.settle(drawn);
  // `generate --run` reads the home without its lock, so it works while the app (here: the studio) holds it.
  const out = join(ctx.dir, 'by-run');
  await run(process.execPath, [CLI, 'generate', '--run', String(r.id), '--kimg', String(first.kimg), '--seeds', '7', '--out', out, '--home', home]); // prettier-ignore
  assert.ok(readFileSync(join(out, 'seed0007.png')).equals(readFileSync(join(home, drawn.birds[0]!.media))));
  await assert.rejects(
    studio.openGenerator({ runId: r.id, kimg: 99 }),
    new RegExp(`run #${r.id} has no checkpoint at 99 kimg; it has ${first.kimg}`),
  );

  studio.training.startRun(r.id);
  await waitFor(() => runs.listCheckpoints(r.id).at(-1)!.step >= first.step + 5, 120_000, 'training on');
  await studio.pauseRun({ runId: r.id });
  const kept = runs.listCheckpoints(r.id);
  assert.ok(
    kept.some((c) => c.id === first.id),
    'the favourite’s checkpoint is kept',
  );
  assert.ok(existsSync(first.path), 'and its file');
  assert.ok(kept.length <= 5, `older checkpoints without favourites still go (${kept.length} kept)`);

  await assert.rejects(
    studio.deleteRun({ runId: r.id }),
    new RegExp(`run #${r.id} has 1 favourite \\(#${fav.id} "${fav.name}"\\); deleting the run removes it too`),
  );
  assert.ok(runs.getRun(r.id), 'nothing deleted without confirmation');
  const preview = await studio.previewDeleteRun({ runId: r.id });
  assert.deepEqual(
    preview.favourites.map((f) => f.id),
    [fav.id],
  );
  await studio.deleteRun({ runId: r.id, confirm: true });
  assert.equal(runs.getRun(r.id), undefined);
  assert.deepEqual(await studio.listFavourites({}), []);
  assert.ok(!existsSync(first.path), 'its checkpoints went with it');
});
