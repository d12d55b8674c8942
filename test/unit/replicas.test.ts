import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError, validateRequest } from '../../main/core/api/validate.js';
import { presetConfig } from '../../main/core/gan/config.js';
import {
  chooseReplicas,
  defaultReplicas,
  effectiveReplicas,
  machineReplicas,
  replicaProblem,
} from '../../main/core/parallel/replicas.js';

const tiny = presetConfig('tiny'); // batch 8, minibatch-stddev groups of 4
const p64 = presetConfig('64'); // batch 32

test('the default: one replica per core on wasm and pure JS, as far as the batch splits into whole groups', () => {
  assert.equal(defaultReplicas(tiny, 'wasm', 2), 2);
  assert.equal(defaultReplicas(tiny, 'wasm', 16), 2, 'batch 8 in groups of 4 takes at most 2');
  assert.equal(defaultReplicas(tiny, 'wasm', 1), 1);
  assert.equal(defaultReplicas(tiny, 'cpu', 2), 2);
  assert.equal(defaultReplicas(p64, 'wasm', 3), 2, 'three would split a group');
  assert.equal(defaultReplicas(p64, 'wasm', 64), 4, 'at most 4 by default');
  for (const gpu of ['cuda', 'webgpu', 'cpu-native'] as const) assert.equal(defaultReplicas(tiny, gpu, 8), 1);
  assert.equal(defaultReplicas({ batchSize: 6, mbstdGroupSize: 4 }, 'wasm', 2), 1, 'groups of 4 do not fit 3 images');
});

test('a number the run cannot use is refused with the reason and what would do', () => {
  assert.equal(replicaProblem(tiny, 2), null);
  assert.match(
    replicaProblem(tiny, 4)!,
    /batch of 8 does not split into 4 replicas .*groups \(4 images\): choose 1 or 2/,
  );
  assert.match(replicaProblem(tiny, 0)!, /from 1 to 16/);
  assert.equal(chooseReplicas(tiny, 1, 'webgpu', 2), 1);
  assert.equal(chooseReplicas(tiny, undefined, 'wasm', 2), 2);
  assert.throws(() => chooseReplicas(tiny, 2, 'cuda', 2), /cuda trains in one process.*wasm and cpu only/);
  assert.throws(() => chooseReplicas(tiny, 3, 'wasm', 2), /replicas: the batch of 8 does not split/);
});

test('a run whose trainer finds a GPU backend trains in one process and says why', () => {
  assert.deepEqual(effectiveReplicas(2, 'wasm'), { replicas: 2, note: null });
  assert.deepEqual(effectiveReplicas(1, 'webgpu'), { replicas: 1, note: null });
  const { replicas, note } = effectiveReplicas(2, 'webgpu');
  assert.equal(replicas, 1);
  assert.match(note!, /2 replicas apply to wasm and cpu only; webgpu trains in one process/);
});

test('the contract checks replicas like the other train flags', () => {
  const base = { datasetId: 1, preset: 'tiny', targetKimg: 1, snapshotKimg: 1, checkpointKimg: 1 };
  assert.equal((validateRequest('createRun', { ...base, replicas: 2 }) as { replicas: number }).replicas, 2);
  for (const [bad, pattern] of [
    [0, /replicas: must be between 1 and 16/],
    [17, /replicas: must be between 1 and 16/],
    [1.5, /replicas: must be a whole number/],
    ['2', /replicas/],
  ] as const)
    assert.throws(
      () => validateRequest('createRun', { ...base, replicas: bad }),
      (err: unknown) => err instanceof InvalidInputError && pattern.test(err.message),
      String(bad),
    );
});

test('the default never holds more replicas than half the machine memory can hold', () => {
  assert.equal(machineReplicas(2, 100, 16_384), 2, 'cores bound a small network');
  assert.equal(machineReplicas(8, 3_200, 16_384), 2, '64² on 16 GB: two instances of 3.2 GB in 8 GB');
  assert.equal(machineReplicas(8, 3_200, 8_192), 1, 'on 8 GB one');
  assert.equal(machineReplicas(8, 3_200, 4_096), 1, 'never fewer than one');
});
