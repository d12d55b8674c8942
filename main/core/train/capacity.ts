/**
 * Will a preset fit the backend that would train it? Checked before a run is created or
 * started (and again by the trainer once its backend is up), so a preset that cannot fit fails
 * at once with the reason instead of crash-looping into an out-of-memory error minutes later.
 */
import { createRequire } from 'node:module';
import { totalmem } from 'node:os';
import { adapterUsable, disabledBackends, type BackendName } from '../runtime/backend-info.js';
import { fileURLToPath } from 'node:url';
import type { AdapterInfo } from '../runtime/backend-info.js';
import type { AdapterProbeProtocol } from '../runtime/probe-adapter.js';
import { RpcClient } from '../util/child-rpc.js';
import { forkChild } from '../util/spawn-child.js';
import { presetConfig, type PresetName } from '../gan/config.js';
import { WASM_LIMIT_BYTES, trainingBytes, wasmRoundPlan } from '../runtime/round-plan.js';

/** A wasm instance addresses at most 4 GiB (32-bit memory). */
export const WASM_LIMIT_MB = WASM_LIMIT_BYTES / 2 ** 20;

export interface PresetNeed {
  /** Memory training takes, in MB: in the plan's rounds, or (no plan) in the smallest rounds possible. */
  mb: number;
  /** Images per round of G main, D main and R1, and of path length, on a wasm backend; null where none fits. */
  rounds: { perRound: number; plPerRound: number } | null;
}

/**
 * What a preset needs on `backend`. A wasm instance trains in rounds sized to its 4 GiB (gradient
 * accumulation); the other CPU backends take the whole batch in one round.
 */
export function presetNeed(preset: PresetName, backend: BackendName = 'wasm'): PresetNeed {
  const c = presetConfig(preset);
  const mb = (bytes: number): number => Math.ceil(bytes / 2 ** 20);
  if (backend === 'wasm') {
    const plan = wasmRoundPlan(c, c.batchSize);
    if (plan) return { mb: mb(plan.bytes), rounds: { perRound: plan.perRound, plPerRound: plan.plPerRound } };
    return { mb: mb(trainingBytes(c, Math.min(c.mbstdGroupSize, c.batchSize), 1)), rounds: null };
  }
  return {
    mb: mb(trainingBytes(c, c.batchSize, Math.max(1, Math.floor(c.batchSize / c.plBatchShrink)))),
    rounds: null,
  };
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

const PROBE = fileURLToPath(new URL('../runtime/probe-adapter.js', import.meta.url));

/**
 * Asks Dawn for its adapter in a child process (under Electron too, as plain Node), so a GPU
 * driver's trouble can never take the app down; null where there is none, it failed, or it took
 * more than 20 s.
 */
async function adapterInChild(): Promise<AdapterInfo | null> {
  const child = forkChild(PROBE, { name: 'adapter probe', quietStdout: true });
  const rpc = new RpcClient<AdapterProbeProtocol>(child, { name: 'adapter probe' });
  try {
    return await rpc.request('adapter', null, { timeoutMs: 20_000 });
  } catch {
    return null;
  } finally {
    child.kill();
  }
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
  /** On wasm: the rounds it trains in (images per round; path length's), chosen from the 4 GiB. */
  rounds: { perRound: number; plPerRound: number } | null;
  /** Why it does not fit, in a sentence the form and the error can show; null when it fits. */
  reason: string | null;
}

export function presetFit(preset: PresetName, backend: BackendName): PresetFit {
  const need = presetNeed(preset, backend);
  const limitMB = backendLimitMB(backend);
  const fits = limitMB === null || (backend === 'wasm' ? need.rounds !== null : need.mb <= limitMB);
  const where =
    backend === 'wasm' ? 'a wasm backend has at most 4 GB' : `this machine has ${(limitMB! / 1024).toFixed(1)} GB`;
  return {
    fits,
    needMB: need.mb,
    limitMB,
    rounds: need.rounds,
    reason: fits
      ? null
      : `the ${preset === 'tiny' ? 'tiny' : `${preset}²`} preset needs ${(need.mb / 1024).toFixed(1)} GB to train` +
        `${backend === 'wasm' ? ' even in the smallest rounds' : ''}, and ${where}: ` +
        'train a smaller preset here, or on a GPU (WebGPU needs only a current GPU driver; see plumage backend)',
  };
}
