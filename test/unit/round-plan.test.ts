/**
 * Which rounds a backend trains in (runtime/round-plan.ts): the caller of a trainer asks this for
 * the backend it runs on and passes the planner in; the trainer itself reads no backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../../main/core/gan/config.js';
import { roundPlanner, wasmRoundPlan } from '../../main/core/runtime/round-plan.js';
import type { AdapterInfo } from '../../main/core/runtime/backend-info.js';

const adapter = (maxStorageBufferBindingSize: number): AdapterInfo => ({
  vendor: 'mesa',
  architecture: '',
  device: 'llvmpipe',
  description: 'lavapipe',
  software: true,
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize,
});

test("on wasm, a round holds what one instance's 4 GiB holds by the memory model", () => {
  const c = presetConfig('64'); // batch 32
  const plan = wasmRoundPlan(c, 32)!;
  assert.ok(plan.perRound < 32, `the 64² batch does not fit one round on wasm (${plan.perRound})`);
  const sizes = roundPlanner({ kind: 'wasm', adapter: null })(c, 32);
  assert.deepEqual(sizes, { perRound: plan.perRound, plPerRound: plan.plPerRound });
  // A replica's share is planned on its own (each replica is its own wasm instance).
  const share = wasmRoundPlan(c, 16)!;
  assert.deepEqual(roundPlanner({ kind: 'wasm', adapter: null })(c, 16), {
    perRound: share.perRound,
    plPerRound: share.plPerRound,
  });
});

test("on WebGPU, a round's largest activation fits one storage binding", () => {
  const c = presetConfig('64');
  assert.deepEqual(roundPlanner({ kind: 'webgpu', adapter: adapter(128 * 2 ** 20) })(c, 32), {
    perRound: 16,
    plPerRound: 16,
  });
  assert.deepEqual(roundPlanner({ kind: 'webgpu', adapter: adapter(4 * 2 ** 30) })(c, 32), {
    perRound: 32,
    plPerRound: 32,
  });
});

test('elsewhere, and before any backend is chosen, the whole batch is one round', () => {
  const c = presetConfig('64');
  for (const kind of ['cuda', 'cpu-native', 'cpu'] as const)
    assert.deepEqual(roundPlanner({ kind, adapter: null })(c, 32), { perRound: 32, plPerRound: 32 }, kind);
  assert.deepEqual(roundPlanner(null)(c, 32), { perRound: 32, plPerRound: 32 });
});
