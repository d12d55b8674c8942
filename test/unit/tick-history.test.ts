import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TickInfo } from '../../preload/contract.js';
import { openDatabase } from '../../main/core/store/db.js';
import { DatasetStore } from '../../main/core/store/datasets.js';
import { RunManager } from '../../main/core/train/run-manager.js';
import { CHARTED, downsampleTicks } from '../../main/core/train/tick-history.js';
import { newRunRow } from '../helpers/runs.js';

const N = 12_000; // over the old 5,000-tick cap (~2.8 h of ticks), so the tail used to be cut off

/** A run of N ticks in a real store: a decaying G loss with one spike, and one tick without D loss. */
function storeWithLongRun(): { manager: RunManager; runId: number; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'plumage-ticks-'));
  const db = openDatabase(':memory:');
  const datasets = new DatasetStore(db);
  const ds = datasets.ensureDataset('/plates', 64, 'centre', '#f5f1e6');
  const manager = new RunManager(db, datasets, { home });
  const run = manager.runs.createRun(newRunRow(ds.id, { name: 'long', target_kimg: 1000 }));
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      manager.runs.insertTick(run.id, {
        kimg: i * 0.008,
        step: i,
        lossG: i === 7777 ? 50 : 5 / (1 + i / 1000),
        lossD: i === 100 ? null : 1 + Math.sin(i / 50),
        r1Penalty: 0.1,
        plPenalty: null,
        scoreReal: 0.5,
        scoreFake: -0.5,
        augmentP: Math.min(1, i / N),
        imagesPerSec: 30,
        secPerKimg: 33 + (i === N - 1 ? 1 : 0),
        tensors: 697,
        rssMB: 300,
        datasetImages: 24,
        tensorMB: 10.8,
      });
    }
  })();
  return { manager, runId: run.id, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

test('the whole history of a long run comes back downsampled, extremes and ends intact', () => {
  const { manager, runId, cleanup } = storeWithLongRun();
  try {
    const all = manager.runs.iterateTicks(runId);
    const full = [...all];
    assert.equal(full.length, N);
    // Paging alone stops at 5,000: that is what capped the charts at ~2.8 h.
    assert.equal(manager.listTicks(runId, 0).length, 5000);
    const points = manager.listTicks(runId, 0, 2000);
    assert.ok(points.length <= 2000 && points.length >= 1900, `${points.length} points`);
    // First and last ticks exactly: elapsed time, the newest speed and afterId paging stay true.
    assert.equal(points[0]!.id, full[0]!.id);
    assert.equal(points.at(-1)!.id, full.at(-1)!.id);
    assert.equal(points.at(-1)!.kimg, full.at(-1)!.kimg);
    assert.equal(points.at(-1)!.secPerKimg, 34);
    // x (kimg) strictly increases, as uPlot needs.
    for (let i = 1; i < points.length; i++) assert.ok(points[i]!.kimg > points[i - 1]!.kimg, `kimg order at ${i}`);
    // Each metric's global extremes survive (the G loss spike most of all).
    for (const k of CHARTED) {
      const raw = full.map((t) => t[k]).filter((v): v is number => v !== null);
      const got = points.map((t) => t[k]).filter((v): v is number => v !== null);
      assert.equal(got.length > 0, raw.length > 0, k);
      if (raw.length === 0) continue;
      assert.equal(Math.max(...got), Math.max(...raw), `${k} max`);
      assert.equal(Math.min(...got), Math.min(...raw), `${k} min`);
    }
    assert.ok(
      points.some((t) => t.lossG === 50),
      'the spike is charted',
    );
    // Later pages with afterId continue from the newest point.
    assert.deepEqual(manager.listTicks(runId, points.at(-1)!.id, 2000), []);
    // A short history is returned whole, untouched.
    assert.equal(manager.listTicks(runId, full[N - 10]!.id, 2000).length, 9);
  } finally {
    cleanup();
  }
});

test('within a bucket, min and max keep the order they happened in', () => {
  const tick = (i: number, lossG: number): TickInfo => ({
    id: i + 1,
    kimg: i,
    step: i,
    lossG,
    lossD: null,
    r1Penalty: null,
    plPenalty: null,
    scoreReal: null,
    scoreFake: null,
    augmentP: null,
    imagesPerSec: null,
    secPerKimg: null,
    tensors: null,
    rssMB: null,
    datasetImages: null,
    tensorMB: null,
    at: i,
  });
  // Falling, then rising: [9 … 0] then [0 … 9], 4 buckets of 5.
  const values = [9, 7, 5, 3, 1, 0, 2, 4, 6, 8, 9, 7, 5, 3, 1, 0, 2, 4, 6, 8];
  const out = downsampleTicks(
    values.map((v, i) => tick(i, v)),
    values.length,
    8,
  );
  assert.deepEqual(
    out.map((t) => t.lossG),
    [9, 1, 0, 8, 9, 1, 0, 8],
  );
  assert.deepEqual(
    out.map((t) => t.kimg),
    [0, 4, 5, 9, 10, 14, 15, 19],
  );
});
