/**
 * Answers with the WebGPU adapter Dawn finds (an error where there is none), spoken with
 * util/child-rpc.ts. Run as a child process by the app (capacity.ts): Dawn never loads into the
 * app's own process.
 */
import type { AdapterInfo } from './backend-info.js';
import { serve } from '../util/child-rpc.js';
import { parentTransport } from '../util/transport.js';
import { probeAdapter } from './webgpu.js';

export interface AdapterProbeProtocol {
  requests: { adapter: { params: null; result: AdapterInfo } };
  events: Record<never, never>;
}

const transport = parentTransport();
serve<AdapterProbeProtocol>(transport, { adapter: () => probeAdapter() });
transport.onClose(() => process.exit(0));
