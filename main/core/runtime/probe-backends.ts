/**
 * `plumage backend`'s probe: tries every backend and answers with the listing, spoken with
 * util/child-rpc.ts. Run as a child process (cli/backend-command.ts), so that Dawn, which it
 * starts, writes its native log lines to a stderr its parent filters (util/child-stderr.ts).
 */
import type { BackendInfo, BackendProbe } from './backend-info.js';
import { serve } from '../util/child-rpc.js';
import { parentTransport } from '../util/transport.js';
import { probeBackends, releaseBackend } from './backend.js';

export interface BackendProbeProtocol {
  requests: { probe: { params: null; result: { chosen: BackendInfo; all: BackendProbe[] } } };
  events: Record<never, never>;
}

const transport = parentTransport();
serve<BackendProbeProtocol>(transport, {
  probe: async () => {
    const listing = await probeBackends(() => {});
    releaseBackend(); // a live GPU device would keep the process from exiting
    return listing;
  },
});
transport.onClose(() => process.exit(0));
