/**
 * Backend names, descriptions and hints: what the CLI, the trainer and the Training form say
 * about the backend. No tfjs here, so the app can import it without loading tfjs.
 */
import { BACKENDS, type BackendChoice } from '../../common/vocabulary.js';

/** The backends are the vocabulary's, fastest first; the GAN's own names for them. */
export const BACKEND_NAMES = BACKENDS;
export type BackendName = BackendChoice;

/**
 * Backends to treat as absent, comma-separated (e.g. `cuda,webgpu`): to keep a flaky driver out
 * of a run, and how the tests make each backend unavailable in turn without uninstalling it.
 */
export const DISABLE_ENV = 'PLUMAGE_DISABLE_BACKENDS';
/** Set to 1 to let the automatic choice take a software WebGPU adapter (CI runs the chain on lavapipe). */
export const SOFTWARE_GPU_ENV = 'PLUMAGE_ALLOW_SOFTWARE_GPU';

export const disabledBackends = (): string[] => (process.env[DISABLE_ENV] ?? '').split(',').map((s) => s.trim());
/** Whether the automatic choice may train on this adapter. */
export const adapterUsable = (a: AdapterInfo): boolean => !a.software || process.env[SOFTWARE_GPU_ENV] === '1';

export const isBackendName = (s: unknown): s is BackendName => BACKEND_NAMES.includes(s as BackendName);

/** The GPU adapter WebGPU found (Dawn's GPUAdapterInfo and the limits that bound tensors). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Runs on the CPU (Mesa's lavapipe, SwiftShader, WARP). */
  software: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface BackendInfo {
  /** tfjs backend name as `tf.getBackend()` reports it. */
  backend: string;
  kind: BackendName;
  /** One line for the UI and the run record. */
  description: string;
  /** The WebGPU adapter, when the backend is webgpu. */
  adapter: AdapterInfo | null;
  /** Why each faster backend is not in use. */
  unavailable: { kind: BackendName; reason: string }[];
  /** A hint when a better backend could be had here, else null. */
  hint: string | null;
}

/** One line of `plumage backend`. */
export interface BackendProbe {
  kind: BackendName;
  available: boolean;
  /** Why not (or why the automatic choice passes it over); null when it would be used. */
  reason: string | null;
  description: string;
  adapter: AdapterInfo | null;
}

const gib = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${Math.round(n / 2 ** 20)} MiB`;
const adapterName = (a: AdapterInfo): string => a.description || a.device || a.vendor || 'unknown adapter';

export function describeBackend(kind: BackendName, adapter: AdapterInfo | null = null): string {
  switch (kind) {
    case 'cuda':
      return 'CUDA GPU via tfjs-node-gpu';
    case 'webgpu':
      if (!adapter) return 'WebGPU';
      return (
        `WebGPU on ${adapterName(adapter)} (${adapter.vendor || 'unknown vendor'}${adapter.software ? ', software' : ''}; ` +
        `max buffer ${gib(adapter.maxBufferSize)}, max binding ${gib(adapter.maxStorageBufferBindingSize)})`
      );
    case 'cpu-native':
      return 'CPU (native TensorFlow via tfjs-node)';
    case 'wasm':
      return 'CPU (WebAssembly)';
    case 'cpu':
      return 'CPU (pure JavaScript) — very slow';
  }
}

/**
 * A one-line hint when a better backend could be had, true for this machine: it is built from
 * why each better backend failed here, not from a generic list.
 */
export function hintFor(
  kind: BackendName,
  adapter: AdapterInfo | null,
  unavailable: { kind: BackendName; reason: string }[],
): string | null {
  if (kind === 'cuda') return null;
  if (kind === 'webgpu') {
    return adapter?.software
      ? "WebGPU found only a software adapter: install your GPU vendor's current driver to train on the GPU."
      : null;
  }
  const webgpu = unavailable.find((u) => u.kind === 'webgpu')?.reason ?? '';
  if (/software adapter/.test(webgpu))
    return "Only a software GPU adapter is present: install your GPU vendor's current driver (Vulkan on Linux) to train on WebGPU.";
  if (/no WebGPU adapter/.test(webgpu))
    return 'No GPU driver with Vulkan, Metal or Direct3D 12 was found: with a current GPU driver, Plumage trains on WebGPU.';
  if (/disabled/.test(webgpu)) return null;
  if (kind === 'wasm' || kind === 'cpu') {
    const native = unavailable.find((u) => u.kind === 'cpu-native');
    if (native && !/disabled/.test(native.reason))
      return 'Training runs on the CPU: npm install @tensorflow/tfjs-node for the native CPU build, or train on a machine with a GPU.';
  }
  return null;
}
