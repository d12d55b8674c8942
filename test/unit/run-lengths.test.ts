import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRunLengths } from '../../main/common/vocabulary.js';
import { REPO_ROOT } from '../helpers/paths.js';

test("a new run's lengths: the CPU demo and the GPU presets, and a short run keeps four grids and two checkpoints", () => {
  assert.deepEqual(defaultRunLengths('tiny'), { targetKimg: 100, snapshotKimg: 1, checkpointKimg: 5 });
  assert.deepEqual(defaultRunLengths('256'), { targetKimg: 1000, snapshotKimg: 4, checkpointKimg: 10 });
  assert.deepEqual(defaultRunLengths('64', 8), { targetKimg: 8, snapshotKimg: 2, checkpointKimg: 4 });
  assert.deepEqual(defaultRunLengths('tiny', 2), { targetKimg: 2, snapshotKimg: 0.5, checkpointKimg: 1 });
});

test('the app and the CLI take their defaults from the one rule, spelling no lengths of their own', () => {
  const form = readFileSync(join(REPO_ROOT, 'renderer/src/lib/run-form.svelte.ts'), 'utf8');
  const view = readFileSync(join(REPO_ROOT, 'renderer/src/views/TrainingView.svelte'), 'utf8');
  const cli = readFileSync(join(REPO_ROOT, 'main/core/train/train-folder.ts'), 'utf8');
  for (const [name, text] of [
    ['run-form.svelte.ts', form],
    ['train-folder.ts', cli],
  ] as const) {
    assert.match(text, /defaultRunLengths\(/, name);
    // The numbers each once spelled: the form's 100 / 1 / 5, the CLI's 1000 and min(4, …) / min(10, …).
    assert.doesNotMatch(text, /\$state\((100|1|5)\)|\?\? 1000|Math\.min\((4|10), target/, name);
  }
  // The view holds a RunForm and spells no lengths either.
  assert.doesNotMatch(view, /\$state\((100|1|5)\)/);
});
