/**
 * Picks the fastest tfjs backend present at run time: CUDA (tfjs-node-gpu) → native CPU
 * (tfjs-node) → WebAssembly → pure JS, and says which one runs and why the better ones did not.
 * The node backends are optional dependencies; where they failed to install, their import fails.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { registerPlumageGradients } from './grads.js';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** tfjs backend name as `tf.getBackend()` reports it. */
  backend: string;
  kind: BackendName;
  /** One line for the UI and the run record. */
  description: string;
  /** Why each faster backend is not in use. */
  unavailable: { kind: BackendName; reason: string }[];
  /** A hint when a better backend could be had, else null. */
  hint: string | null;
}

const require = createRequire(import.meta.url);
let chosen: BackendInfo | null = null;

const firstLine = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);

/**
 * Initialises tfjs once per process. `prefer` forces one backend (tests, benchmarks); without it
 * the order above is tried. Must run before any tensor is created.
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

async function chooseBackend(prefer?: BackendName): Promise<BackendInfo> {
  registerPlumageGradients();
  const order: BackendName[] = prefer ? [prefer] : ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  const unavailable: BackendInfo['unavailable'] = [];
  for (const kind of order) {
    try {
      await tryBackend(kind);
      const hint =
        kind === 'wasm' || kind === 'cpu'
          ? 'Training on the CPU is slow: install the GPU build (npm install @tensorflow/tfjs-node-gpu, with CUDA) for real runs.'
          : kind === 'tensorflow'
            ? 'No CUDA GPU found by tfjs-node-gpu; training runs on the native CPU build.'
            : null;
      chosen = { backend: tf.getBackend(), kind, description: describe(kind), unavailable, hint };
      return chosen;
    } catch (err) {
      unavailable.push({ kind, reason: firstLine(err) });
    }
  }
  throw new Error(`no tfjs backend could start: ${unavailable.map((u) => `${u.kind}: ${u.reason}`).join('; ')}`);
}

async function tryBackend(kind: BackendName): Promise<string> {
  switch (kind) {
    case 'tensorflow-gpu':
      require('@tensorflow/tfjs-node-gpu');
      await setExactly('tensorflow');
      if (!tf.engine().backend || !(await gpuVisible()))
        throw new Error('tfjs-node-gpu loaded but sees no CUDA device');
      return 'tensorflow';
    case 'tensorflow':
      require('@tensorflow/tfjs-node');
      await setExactly('tensorflow');
      return 'tensorflow';
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      await setExactly('wasm');
      return 'wasm';
    case 'cpu':
      await setExactly('cpu');
      return 'cpu';
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

function describe(kind: BackendName): string {
  switch (kind) {
    case 'tensorflow-gpu':
      return 'CUDA via tfjs-node-gpu';
    case 'tensorflow':
      return 'CPU (native TensorFlow via tfjs-node)';
    case 'wasm':
      return 'CPU (wasm) — slow: install the GPU build';
    case 'cpu':
      return 'CPU (pure JavaScript) — very slow: install the GPU build';
  }
}

export { tf };
