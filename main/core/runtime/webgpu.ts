/**
 * WebGPU in Node through Dawn (the npm `webgpu` package ships `dawn.node` prebuilt for each
 * platform, so nothing is downloaded at install). tfjs-backend-webgpu registers itself only if
 * `navigator.gpu` exists when it is imported, so the GPU object is made first and the backend
 * imported after.
 */
import type { AdapterInfo } from './backend-info.js';

interface DawnAdapter {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}
interface DawnGpu {
  requestAdapter(opts?: { powerPreference?: string }): Promise<DawnAdapter | null>;
}

let gpu: DawnGpu | null = null;
let adapterInfo: AdapterInfo | null = null;

/** Architectures and device names of adapters that run on the CPU. */
const SOFTWARE = /software|cpu|llvmpipe|lavapipe|swiftshader|warp|microsoft basic render/i;

/**
 * Finds the adapter tfjs will use (high-performance, as its backend asks for) and registers the
 * webgpu backend. Throws, with the reason in one line, where there is none.
 */
export async function openWebGpu(): Promise<AdapterInfo> {
  if (adapterInfo) return adapterInfo;
  const { mod, info } = await findAdapter();
  adapterInfo = info;
  // GPUBufferUsage and friends are globals in a browser; tfjs-backend-webgpu uses them as such.
  Object.assign(globalThis, mod.globals);
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(globalThis as { navigator?: object }).navigator, gpu },
    configurable: true,
    writable: true,
  });
  await import('@tensorflow/tfjs-backend-webgpu');
  return adapterInfo;
}

type DawnModule = { create(flags: string[]): DawnGpu; globals: object };

/**
 * The adapter alone: Dawn is loaded and asked, no device is made and tfjs is not loaded (the
 * app uses this to judge which presets fit; an adapter without a device does not keep Node up).
 */
export async function probeAdapter(): Promise<AdapterInfo> {
  return adapterInfo ?? (await findAdapter()).info;
}

async function findAdapter(): Promise<{ mod: DawnModule; info: AdapterInfo }> {
  let mod: DawnModule;
  try {
    mod = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    throw new Error(`the webgpu package (Dawn) did not load: ${(err as Error).message.split('\n')[0]}`);
  }
  gpu ??= mod.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter)
    throw new Error('no WebGPU adapter: no GPU driver with Vulkan (Linux), Metal (macOS) or Direct3D 12 (Windows)');
  const i = adapter.info;
  const info: AdapterInfo = {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    software: Boolean(i.isFallbackAdapter) || SOFTWARE.test(`${i.architecture} ${i.device} ${i.description}`),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
  return { mod, info };
}

/** The adapter found, if `openWebGpu` has run (also when the automatic choice passed it over). */
export const webGpuAdapter = (): AdapterInfo | null => adapterInfo;

/** Forgets the GPU object (its device is destroyed by the caller), so nothing keeps Node alive. */
export function closeWebGpu(): void {
  gpu = null;
  adapterInfo = null;
}
