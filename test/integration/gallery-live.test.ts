import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../../main/core/netfile/safetensors.js';
import { liveGeneratorFiles } from '../../main/core/home-layout.js';
import type { Studio } from '../../main/core/studio.js';
import { waitFor } from '../helpers/paths.js';
import { trainingStudio, type TrainingStudio } from '../helpers/runs.js';

let ctx: TrainingStudio;
let studio: Studio;
const STEP_KIMG = 0.008; // the tiny preset's batch of 8

before(async () => {
  ctx = await trainingStudio('gallery-live');
  studio = ctx.studio;
});

after(() => ctx.close());

test("the Gallery draws a training run's current G_ema, written with each grid, before any checkpoint", async () => {
  const r = await studio.createRun({
    datasetId: ctx.datasetId,
    preset: 'tiny',
    targetKimg: 12 * STEP_KIMG,
    snapshotKimg: 2 * STEP_KIMG, // a grid (and its G_ema) every second step
    checkpointKimg: 100, // no checkpoint until the run ends
  });
  const runs = studio.training.runs;
  studio.training.startRun(r.id);
  const live = await waitFor(
    () => runs.liveGenerators(r.id).find((s) => s.step >= 2),
    120_000,
    'a G_ema written after training began',
  );
  assert.equal(runs.getRun(r.id)!.state, 'running');
  assert.deepEqual(runs.listCheckpoints(r.id), [], 'no checkpoint yet');

  // The run opens at its newest G_ema, labelled with that snapshot's kimg.
  const opened = await studio.openGenerator({ runId: r.id });
  const newest = runs.liveGenerators(r.id)[0]!;
  assert.ok(opened.snapshotId !== null && opened.snapshotId >= live.id);
  assert.equal(opened.checkpointId, null);
  assert.equal(opened.kimg, runs.getSnapshot(opened.snapshotId)!.kimg);
  assert.ok(opened.kimg! >= 2 * STEP_KIMG - 1e-9, `drawn at ${opened.kimg} kimg`);
  assert.ok(newest.step >= runs.getSnapshot(opened.snapshotId)!.step);

  // Birds drawn from it while the run trains, and a favourite kept from it.
  const ref = { runId: r.id, snapshotId: live.id };
  const drawn = await studio.generate({ generator: ref, seeds: [3, 4], psi: 0.7, noiseMode: 'const' });
  assert.equal(drawn.generator.snapshotId, live.id);
  await studio.gallery.settle(drawn);
  for (const b of drawn.birds) assert.ok(existsSync(join(ctx.home, b.media)));
  const fav = await studio.addFavourite({ generator: ref, seed: 3, psi: 0.7, noiseMode: 'const' });
  assert.deepEqual([fav.runId, fav.checkpointId, fav.kimg], [r.id, null, live.kimg]);
  assert.equal(fav.generatorPath, live.generator);

  await waitFor(() => runs.getRun(r.id)!.state === 'done', 300_000, 'the run to finish');

  // The file is G_ema itself: at the end, the last grid's G_ema and the last checkpoint's are the same step, same bits.
  const last = runs.liveGenerators(r.id)[0]!;
  const ckpt = runs.latestCheckpoint(r.id)!;
  assert.equal(last.step, ckpt.step);
  const [g, c] = await Promise.all([
    readSafetensors(last.generator!, { requireChecksum: true }),
    readSafetensors(ckpt.path, { requireChecksum: true }),
  ]);
  const names = g.names.filter((n) => n.startsWith('G_ema.'));
  assert.ok(names.length > 10 && names.length === g.names.length, 'G_ema alone');
  for (const n of names) assert.deepEqual(await g.read(n), await c.read(n), n);
  await Promise.all([g.close(), c.close()]);
  const [gBytes, cBytes] = [statSync(last.generator!).size, statSync(ckpt.path).size];
  assert.ok(gBytes * 5 < cBytes, `a light file: ${gBytes} bytes against the checkpoint's ${cBytes}`);

  // Old ones are cleaned: the newest two stay, and the favourite's, whose bird is drawn again as it was.
  const files = liveGeneratorFiles(ctx.home, r.id).map((f) => f.path);
  const kept = runs.liveGenerators(r.id).map((s) => s.generator!);
  assert.equal(kept.length, 2);
  assert.deepEqual(files.sort(), [...new Set([...kept, fav.generatorPath])].sort());
  const again = await studio.renderFavourite({ id: fav.id });
  await studio.gallery.settle(again);
  assert.ok(
    readFileSync(join(ctx.home, again.birds[0]!.media)).equals(readFileSync(join(ctx.home, drawn.birds[0]!.media))),
  );

  // Stored relative to the home, like every path inside it.
  const stored = studio.db
    .prepare<[], { generator: string }>('SELECT generator FROM snapshots WHERE generator IS NOT NULL')
    .all();
  for (const s of stored)
    assert.match(s.generator, new RegExp(`^checkpoints/run-${r.id}/gema-\\d{8}-[0-9a-z]+\\.safetensors$`));
  // A G_ema that is no longer kept is said so, not drawn.
  const gone = runs.listSnapshots(r.id).find((s) => s.generator === null && s.step > 0)!;
  await assert.rejects(
    studio.openGenerator({ runId: r.id, snapshotId: gone.id }),
    /is no longer kept \(only the newest are\)/,
  );
});
