import { join } from 'node:path';
import type { AdapterProbeProtocol } from '../../main/core/runtime/probe-adapter.js';
import { RpcClient } from '../../main/core/util/child-rpc.js';
import { forkChild } from '../../main/core/util/spawn-child.js';
import { REPO_ROOT } from './paths.js';

/**
 * Why WebGPU cannot run here, or false when Dawn finds an adapter: asked in a child process
 * through the app's own probe and protocol (capacity.ts asks the same way), so the test process
 * never loads Dawn. Tests that need WebGPU skip with this reason.
 */
export async function webgpuAdapterProblem(): Promise<string | false> {
  const probe = join(REPO_ROOT, 'dist', 'main', 'core', 'runtime', 'probe-adapter.js');
  const child = forkChild(probe, { name: 'adapter probe', quietStdout: true });
  const rpc = new RpcClient<AdapterProbeProtocol>(child, { name: 'adapter probe' });
  try {
    await rpc.request('adapter', null, { timeoutMs: 60_000 });
    return false;
  } catch (err) {
    return `no WebGPU adapter: ${(err as Error).message}`;
  } finally {
    child.kill();
  }
}
