/**
 * Picks the fastest tfjs backend present at run time — CUDA (tfjs-node-gpu) → WebGPU (Dawn's
 * Node binding: Vulkan, Metal or Direct3D 12) → native CPU (tfjs-node) → WebAssembly → pure
 * JS — and says which one runs and why each better one did not. The node backends are optional
 * dependencies: where they failed to install, their import fails and the chain moves on.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { registerPlumageGradients } from '../gan/grads.js';
import { registerFusedKernels } from '../kernels/index.js';
import { installFrugalGradients } from './tape.js';
import {
  BACKEND_NAMES,
  DISABLE_ENV,
  adapterUsable,
  disabledBackends,
  describeBackend,
  hintFor,
  type AdapterInfo,
  type BackendInfo,
  type BackendName,
} from './backend-info.js';
import { openWebGpu, closeWebGpu, webGpuAdapter } from './webgpu.js';
import { shareIdentityOnWasm } from './wasm-memory.js';
import { TfjsVersionError } from './tfjs-version.js';

export {
  BACKEND_NAMES,
  DISABLE_ENV,
  SOFTWARE_GPU_ENV,
  describeBackend,
  isBackendName,
  type AdapterInfo,
  type BackendInfo,
  type BackendName,
  type BackendProbe,
} from './backend-info.js';
import type { BackendProbe } from './backend-info.js';

const require = createRequire(import.meta.url);
/** The automatic choice tries the backends fastest first: the vocabulary's order. */
const AUTO_ORDER: readonly BackendName[] = BACKEND_NAMES;

let chosen: BackendInfo | null = null;

const firstLine = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);

/**
 * Initialises tfjs once per process. `prefer` forces one backend (the `--backend` option, tests,
 * benchmarks), including a software WebGPU adapter the automatic choice skips; without it the
 * order above is tried. Must run before any tensor is created.
 */
export async function initBackend(
  prefer?: BackendName,
  log: (line: string) => void = (l) => console.error(l),
): Promise<BackendInfo> {
  if (chosen && (!prefer || chosen.kind === prefer)) return chosen;
  const result = await chooseBackend(prefer);
  const why = result.unavailable.map((u) => `${u.kind}: ${u.reason}`).join('; ');
  log(`plumage: training backend ${result.kind} — ${result.description}${why ? ` (not available: ${why})` : ''}`);
  return result;
}

/** The backend this process runs on, once `initBackend` has chosen one. */
export const currentBackend = (): BackendInfo | null => chosen;

async function chooseBackend(prefer?: BackendName): Promise<BackendInfo> {
  registerPlumageGradients();
  registerFusedKernels();
  installFrugalGradients();
  const order = prefer ? [prefer] : AUTO_ORDER;
  const unavailable: BackendInfo['unavailable'] = [];
  for (const kind of order) {
    try {
      const adapter = await tryBackend(kind, !prefer);
      chosen = {
        backend: tf.getBackend(),
        kind,
        description: describeBackend(kind, adapter),
        adapter,
        unavailable,
        hint: hintFor(kind, adapter, unavailable),
      };
      return chosen;
    } catch (err) {
      if (err instanceof TfjsVersionError) throw err; // the install is broken, not this backend
      unavailable.push({ kind, reason: firstLine(err) });
    }
  }
  throw new Error(`no tfjs backend could start: ${unavailable.map((u) => `${u.kind}: ${u.reason}`).join('; ')}`);
}

/**
 * Every backend, in the automatic order, with whether it can run here and why not (`plumage
 * backend`). Leaves the process on the backend the automatic choice picks.
 */
export async function probeBackends(
  log?: (line: string) => void,
): Promise<{ chosen: BackendInfo; all: BackendProbe[] }> {
  const picked = await initBackend(undefined, log);
  const all: BackendProbe[] = [];
  for (const kind of AUTO_ORDER) {
    const skipped = picked.unavailable.find((u) => u.kind === kind);
    if (kind === picked.kind) {
      all.push({ kind, available: true, reason: null, description: picked.description, adapter: picked.adapter });
    } else if (skipped) {
      const adapter = kind === 'webgpu' ? webGpuAdapter() : null; // a software one, passed over
      all.push({
        kind,
        available: false,
        reason: skipped.reason,
        description: describeBackend(kind, adapter),
        adapter,
      });
    } else {
      // After the chosen one: try it too, so the list is complete, then return to the choice.
      try {
        const adapter = await tryBackend(kind, false);
        all.push({ kind, available: true, reason: null, description: describeBackend(kind, adapter), adapter });
      } catch (err) {
        all.push({ kind, available: false, reason: firstLine(err), description: describeBackend(kind), adapter: null });
      }
    }
  }
  await setExactly(picked.backend);
  return { chosen: picked, all };
}

/** Starts one backend, or throws why it cannot run here. Returns the GPU adapter for webgpu. */
async function tryBackend(kind: BackendName, automatic: boolean): Promise<AdapterInfo | null> {
  if (disabledBackends().includes(kind)) throw new Error(`disabled by ${DISABLE_ENV}`);
  switch (kind) {
    case 'cuda':
      require('@tensorflow/tfjs-node-gpu');
      await setExactly('tensorflow');
      if (!(await gpuVisible())) throw new Error('tfjs-node-gpu loaded but sees no CUDA device');
      return null;
    case 'webgpu': {
      const adapter = await openWebGpu();
      // Mesa's lavapipe / SwiftShader run WebGPU on the CPU at a fraction of wasm's speed.
      if (automatic && !adapterUsable(adapter))
        throw new Error(`only a software adapter (${adapter.device || adapter.vendor}), slower than the CPU backends`);
      await setExactly('webgpu');
      return adapter;
    }
    case 'cpu-native':
      require('@tensorflow/tfjs-node');
      await setExactly('tensorflow');
      return null;
    case 'wasm':
      shareIdentityOnWasm((await import('@tensorflow/tfjs-backend-wasm')).version_wasm);
      await setExactly('wasm');
      return null;
    case 'cpu':
      await setExactly('cpu');
      return null;
  }
}

/** `setBackend` quietly falls back on failure: check that what runs is what was asked for. */
async function setExactly(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name)
    throw new Error(`tfjs could not start the ${name} backend (running ${tf.getBackend()})`);
}

async function gpuVisible(): Promise<boolean> {
  // tfjs-node-gpu runs on the CPU when CUDA is missing; its binding reports the devices it uses.
  try {
    const binding = (tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } }).binding;
    return binding?.isUsingGpuDevice?.() ?? true;
  } catch {
    return false;
  }
}

/**
 * Ends the GPU device so the process can exit (a live Dawn device keeps Node's event loop up).
 * After this no tensor on webgpu may be used.
 */
export function releaseBackend(): void {
  if (tf.findBackend('webgpu')) {
    const gpuBackend = tf.findBackend('webgpu') as unknown as { device?: { destroy(): void } };
    gpuBackend.device?.destroy();
    tf.removeBackend('webgpu');
  }
  closeWebGpu();
  chosen = null;
}

export { tf };
