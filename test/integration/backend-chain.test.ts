/**
 * The backend chain, through `plumage backend --json` in a fresh process each time: with each
 * backend made unavailable in turn (PLUMAGE_DISABLE_BACKENDS), the choice falls through to the
 * next one that starts, and every backend passed over is reported with its reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BACKEND_NAMES, type BackendName, type BackendProbe } from '../../main/core/runtime/backend-info.js';
import { CLI } from '../helpers/paths.js';

const run = promisify(execFile);

interface Listing {
  chosen: BackendName;
  hint: string | null;
  backends: BackendProbe[];
}

/** With a software GPU adapter allowed, so that where lavapipe is installed webgpu is in the chain too. */
async function listing(disabled: BackendName[]): Promise<Listing> {
  const { stdout, stderr } = await run(process.execPath, [CLI, 'backend', '--json'], {
    env: {
      ...process.env,
      PLUMAGE_DISABLE_BACKENDS: disabled.join(','),
      PLUMAGE_ALLOW_SOFTWARE_GPU: '1',
      XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
    },
  });
  // Dawn's native warnings (lavapipe's limits, clamped) stay out of what the user reads.
  assert.doesNotMatch(stderr, /artificially reduced/);
  return JSON.parse(stdout) as Listing;
}

test('every backend is listed in chain order, with a reason for each one that cannot run', async () => {
  const all = await listing([]);
  assert.deepEqual(
    all.backends.map((b) => b.kind),
    [...BACKEND_NAMES],
  );
  for (const b of all.backends) {
    if (b.available) assert.equal(b.reason, null, b.kind);
    else assert.ok(b.reason && b.reason.length > 5, `${b.kind} says why not: ${b.reason}`);
  }
  // The choice is the first that can run (the pure-JS backend always can).
  assert.equal(all.chosen, all.backends.find((b) => b.available)!.kind);
  assert.ok(all.backends.at(-1)!.available, 'cpu is always there');
  const gpu = all.backends.find((b) => b.kind === 'webgpu')!;
  if (gpu.available) {
    assert.ok(gpu.adapter && gpu.adapter.maxBufferSize > 0, 'the adapter and its limits are reported');
    assert.match(gpu.description, /^WebGPU on .+max buffer/);
  } else console.log(`webgpu not in the chain here: ${gpu.reason}`);
});

test('with each backend made unavailable in turn, the chain falls through to the next and says why', async () => {
  const base = await listing([]);
  const available = base.backends.filter((b) => b.available).map((b) => b.kind);
  const disabled: BackendName[] = [];
  for (const kind of available.slice(0, -1)) {
    disabled.push(kind);
    const now = await listing(disabled);
    const expected = available.find((k) => !disabled.includes(k))!;
    assert.equal(now.chosen, expected, `with ${disabled.join(', ')} off`);
    for (const off of disabled) {
      const entry = now.backends.find((b) => b.kind === off)!;
      assert.equal(entry.available, false);
      assert.match(entry.reason!, /disabled by PLUMAGE_DISABLE_BACKENDS/);
    }
    // Backends that failed on their own still give their own reasons.
    for (const b of base.backends.filter((x) => !x.available))
      assert.equal(now.backends.find((x) => x.kind === b.kind)!.reason, b.reason);
  }
});

test('with every backend unavailable the command fails and names each reason', async () => {
  await assert.rejects(listing([...BACKEND_NAMES]), (err: Error & { stderr: string; code: number }) => {
    assert.equal(err.code, 1);
    assert.match(err.stderr, /no tfjs backend could start/);
    for (const kind of BACKEND_NAMES) assert.match(err.stderr, new RegExp(`${kind}: disabled`));
    return true;
  });
});

test('--backend is checked on train and generate', async () => {
  for (const args of [
    ['train', '--dataset', '/nonexistent', '--backend', 'metal'],
    ['generate', '--checkpoint', 'x', '--out', 'y', '--backend', 'gpu'],
  ]) {
    await assert.rejects(run(process.execPath, [CLI, ...args]), (err: Error & { stderr: string; code: number }) => {
      assert.equal(err.code, 2, args.join(' '));
      assert.match(err.stderr, /--backend must be one of cuda, webgpu, cpu-native, wasm, cpu/);
      return true;
    });
  }
});

test('the app predicts the backend from the packages and, asked in a child process, the WebGPU adapter', async () => {
  process.env.PLUMAGE_ALLOW_SOFTWARE_GPU = '1'; // as in listing(): where lavapipe is installed it counts
  const { predictWithAdapter } = await import('../../main/core/train/capacity.js');
  const { presetFit } = await import('../../main/core/train/capacity.js');
  const chain = await listing([]);
  const webgpu = chain.backends.find((b) => b.kind === 'webgpu')!;
  const predicted = await predictWithAdapter();
  if (webgpu.available) {
    assert.equal(predicted, 'webgpu', 'an adapter the trainer would use makes the GPU presets available');
    assert.equal(presetFit('64', predicted).fits, true);
  } else {
    assert.equal(predicted, chain.chosen);
  }
});

test('on a machine without a Vulkan driver, backend says so in its own words and Dawn prints nothing', async () => {
  // No ICD file: the Vulkan loader finds no driver, as on a machine without a GPU driver.
  const { stdout, stderr } = await run(process.execPath, [CLI, 'backend'], {
    env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', XDG_RUNTIME_DIR: '/tmp' },
  });
  assert.match(stdout, /webgpu +no WebGPU adapter: no GPU driver with Vulkan/);
  assert.equal(stderr, '', 'Dawn\'s lines (its source "at CheckVkSuccessImpl (…)") stay out of stderr');
});
