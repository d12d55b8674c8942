/**
 * Will a preset fit the backend that would train it? Checked before a run is created or
 * started (and again by the trainer once its backend is up), so a preset that cannot fit fails
 * at once with the reason instead of crash-looping into an out-of-memory error minutes later.
 */
import { createRequire } from 'node:module';
import { totalmem } from 'node:os';
import { adapterUsable, disabledBackends, type BackendName } from '../gan/backend-info.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AdapterInfo } from '../gan/backend-info.js';
import { blockResolutions, channelsAt, presetConfig, type GanConfig, type PresetName } from '../gan/config.js';

/** A wasm instance addresses at most 4 GiB (32-bit memory). */
export const WASM_LIMIT_MB = 4096;

/**
 * Memory one training phase holds at its peak. Measured on wasm (the instance's heap, which
 * only grows, after G+PL and D+R1 steps): tiny 120 MB; the 64² preset aborts at the 4 GB
 * limit in its path-length step, so 4 GB is a lower bound for it.
 */
const MEASURED_MB = { tiny: 120, '64': WASM_LIMIT_MB + 1 } as const;

/** Activation elements of one batch through G and D: what the memory need scales with. */
function activations(c: GanConfig): number {
  let sum = 0;
  for (const r of blockResolutions(c.resolution)) sum += 2 * r * r * channelsAt(c, r); // G and D at r²
  return c.batchSize * sum;
}

export interface PresetNeed {
  mb: number;
  /** 'measured', or 'lower bound' (the 64² measurement scaled by activation size). */
  basis: 'measured' | 'lower bound';
}

export function presetNeed(preset: PresetName): PresetNeed {
  if (preset === 'tiny') return { mb: MEASURED_MB.tiny, basis: 'measured' };
  const scale = activations(presetConfig(preset)) / activations(presetConfig('64'));
  return { mb: Math.ceil(MEASURED_MB['64'] * Math.max(1, scale)), basis: 'lower bound' };
}

/** The most memory a backend can give one trainer, in MB; null where it cannot be known (GPU). */
export function backendLimitMB(kind: BackendName): number | null {
  if (kind === 'wasm') return WASM_LIMIT_MB;
  // tfjs reports no GPU memory size (WebGPU exposes buffer limits, not the card's memory); the presets target 8 GB.
  if (kind === 'cuda' || kind === 'webgpu') return null;
  return Math.floor(totalmem() / 2 ** 20); // CPU backends: the machine's memory
}

const require = createRequire(import.meta.url);
const resolvable = (name: string): boolean => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};

/**
 * The backend a trainer started now would pick, judged by which packages are installed and,
 * once `predictWithAdapter()` has asked Dawn, whether a WebGPU adapter the trainer would use
 * exists (the trainer confirms it when its backend is up). Loading tfjs here would cost the app
 * seconds; asking Dawn for its adapter costs milliseconds and makes no device.
 */
let predicted: BackendName | undefined;
let withAdapter: Promise<BackendName> | undefined;

export function predictWithAdapter(): Promise<BackendName> {
  withAdapter ??= (async () => {
    const byPackages = predictBackend();
    if (byPackages === 'cuda' || disabledBackends().includes('webgpu')) return byPackages;
    const adapter = await adapterInChild();
    if (adapter && adapterUsable(adapter)) predicted = 'webgpu';
    return predictBackend();
  })();
  return withAdapter;
}

const PROBE = fileURLToPath(new URL('../gan/probe-adapter.js', import.meta.url));

/**
 * Asks Dawn for its adapter in a child process (under Electron too, as plain Node), so a GPU
 * driver's trouble can never take the app down; null where there is none or it failed.
 */
function adapterInChild(): Promise<AdapterInfo | null> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PROBE],
      { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: 20_000 },
      (err, stdout) => {
        if (err) return resolve(null);
        try {
          resolve((JSON.parse(stdout.trim().split('\n').pop()!) as { adapter?: AdapterInfo }).adapter ?? null);
        } catch {
          resolve(null);
        }
      },
    );
  });
}

export function predictBackend(): BackendName {
  predicted ??= resolvable('@tensorflow/tfjs-node-gpu')
    ? 'cuda'
    : resolvable('@tensorflow/tfjs-node')
      ? 'cpu-native'
      : resolvable('@tensorflow/tfjs-backend-wasm')
        ? 'wasm'
        : 'cpu';
  return predicted;
}

export interface PresetFit {
  fits: boolean;
  needMB: number;
  limitMB: number | null;
  /** Why it does not fit, in a sentence the form and the error can show; null when it fits. */
  reason: string | null;
}

export function presetFit(preset: PresetName, backend: BackendName): PresetFit {
  const need = presetNeed(preset);
  const limitMB = backendLimitMB(backend);
  const fits = limitMB === null || need.mb <= limitMB;
  const amount =
    need.basis === 'lower bound' ? `more than ${Math.floor(need.mb / 1024)} GB` : `${(need.mb / 1024).toFixed(1)} GB`;
  const where =
    backend === 'wasm' ? 'a wasm backend has at most 4 GB' : `this machine has ${(limitMB! / 1024).toFixed(1)} GB`;
  return {
    fits,
    needMB: need.mb,
    limitMB,
    reason: fits
      ? null
      : `the ${preset === 'tiny' ? 'tiny' : `${preset}²`} preset needs ${amount} to train and ${where}: ` +
        'train the tiny preset here, or on a GPU (WebGPU needs only a current GPU driver; see plumage backend)',
  };
}
