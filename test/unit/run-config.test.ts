/**
 * A run's config comes out of the store checked: a damaged row gives an error that names the run
 * and the field (a clear request error at the boundary), never a TypeError from deep inside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS } from '../../main/common/vocabulary.js';
import { toApiError } from '../../main/core/api/security.js';
import { presetConfig } from '../../main/core/gan/config.js';
import { DatasetStore } from '../../main/core/store/datasets.js';
import { openDatabase } from '../../main/core/store/db.js';
import { RunConfigError, parseRunConfig } from '../../main/core/store/run-config.js';
import { RunManager } from '../../main/core/train/run-manager.js';
import { newRunRow } from '../helpers/runs.js';

test('every preset’s config reads back as it was written, a field it does not know kept', () => {
  for (const preset of PRESETS) {
    const config = presetConfig(preset, { backend: 'wasm', replicas: 2, freezeD: 1 });
    assert.deepEqual(parseRunConfig(1, JSON.stringify(config)), config, preset);
  }
  const withMore = { ...presetConfig('tiny'), someFutureSetting: 3 };
  assert.deepEqual(parseRunConfig(1, JSON.stringify(withMore)), withMore);
});

const tiny = presetConfig('tiny');
const DAMAGED: [what: string, text: string, error: RegExp][] = [
  ['cut short', JSON.stringify(tiny).slice(0, 40), /^run 7's stored config is damaged: it is not valid JSON$/],
  ['not an object', '[1, 2]', /^run 7's stored config is damaged: its \(the whole config\) is \[1,2\]/],
  [
    'a number as text',
    JSON.stringify({ ...tiny, resolution: '32' }),
    /^run 7's stored config is damaged: its resolution is "32" \(.*number.*\)$/,
  ],
  ['a field missing', JSON.stringify({ ...tiny, lr: undefined }), /its lr is missing/],
  ['a nested field', JSON.stringify({ ...tiny, ada: { ...tiny.ada, target: null } }), /its ada\.target is null/],
  ['an unknown preset', JSON.stringify({ ...tiny, preset: '2048' }), /its preset is "2048"/],
  ['an unknown backend', JSON.stringify({ ...tiny, backend: 'tpu' }), /its backend is "tpu"/],
  ['a betas pair cut short', JSON.stringify({ ...tiny, betas: [0] }), /its betas/],
  ['a resolution not a power of two', JSON.stringify({ ...tiny, resolution: 48 }), /resolution must be a power of two/],
];
for (const [what, text, error] of DAMAGED)
  test(`a stored config ${what} is refused, naming the run and the field`, () => {
    assert.throws(
      () => parseRunConfig(7, text),
      (err: unknown) => err instanceof RunConfigError && error.test(err.message),
    );
  });

test('a run whose config row was damaged answers with that error; the run can still be deleted', async () => {
  const home = mkdtempSync(join(tmpdir(), 'plumage-run-config-'));
  const db = openDatabase(':memory:');
  try {
    const datasets = new DatasetStore(db);
    const ds = datasets.ensureDataset('/plates', 64, 'centre', '#f5f1e6');
    const manager = new RunManager(db, datasets, { home });
    const good = manager.runs.createRun(newRunRow(ds.id, { name: 'good' }));
    const bad = manager.runs.createRun(newRunRow(ds.id, { name: 'bad' }));
    assert.equal(manager.getRun(bad.id).resolution, 32, 'readable before the damage');
    db.prepare('UPDATE runs SET config = ? WHERE id = ?').run(JSON.stringify({ ...tiny, ada: 1 }), bad.id);
    for (const request of [() => manager.getRun(bad.id), () => manager.listRuns()]) {
      let thrown: unknown;
      try {
        request();
      } catch (err) {
        thrown = err;
      }
      assert.ok(thrown instanceof RunConfigError, `a RunConfigError, not ${String(thrown)}`);
      assert.deepEqual(toApiError(thrown), {
        code: 'failed',
        message: `run ${bad.id}'s stored config is damaged: its ada is 1 (Invalid input: expected object, received number)`,
      });
    }
    assert.equal(manager.getRun(good.id).resolution, 32, 'the other run is untouched');
    assert.deepEqual(
      (await manager.deleteRun(bad.id)).map((r) => r.name),
      ['good'],
    );
  } finally {
    db.close();
    rmSync(home, { recursive: true, force: true });
  }
});
