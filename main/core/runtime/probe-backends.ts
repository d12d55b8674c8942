/**
 * `plumage backend`'s probe: tries every backend and prints the listing as one JSON line
 * (`{"chosen": BackendInfo, "all": BackendProbe[]}`). Run as a child process (cli/backend-command.ts),
 * so that Dawn, which it starts, writes its native log lines to a stderr its parent filters
 * (util/child-stderr.ts).
 */
import { probeBackends, releaseBackend } from './backend.js';

const listing = await probeBackends(() => {});
releaseBackend(); // a live GPU device would keep the process from exiting
console.log(JSON.stringify(listing));
