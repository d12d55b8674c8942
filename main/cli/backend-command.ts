/** `plumage backend [--json]`: every training backend, whether it can run here, and why not. */
import { fileURLToPath } from 'node:url';
import type { BackendInfo, BackendProbe } from '../core/runtime/backend-info.js';
import type { BackendProbeProtocol } from '../core/runtime/probe-backends.js';
import { RpcClient } from '../core/util/child-rpc.js';
import { forkChild } from '../core/util/spawn-child.js';
import type { CommandDef } from './usage.js';
import { say, sayJson } from './terminal.js';

const PROBE = fileURLToPath(new URL('../core/runtime/probe-backends.js', import.meta.url));

/** The probe runs in a child: Dawn's native warnings go to its stderr, which is read without them. */
async function probe(): Promise<{ chosen: BackendInfo; all: BackendProbe[] }> {
  const child = forkChild(PROBE, { name: 'backend probe', quietStdout: true });
  try {
    return await new RpcClient<BackendProbeProtocol>(child, { name: 'backend probe' }).request('probe', null);
  } finally {
    child.end();
  }
}

export const backendCommand: CommandDef = {
  name: 'backend',
  synopsis: 'backend [--json]',
  summary: 'Lists every training backend: which one trains here, and why the faster ones do not.',
  details: `  --json   one object: chosen, description, hint, backends (each with available and reason)
Backends, fastest first: cuda, webgpu, cpu-native, wasm, cpu.`,
  options: { json: { type: 'boolean', default: false } },
  async run(values) {
    const { chosen, all } = await probe();
    if (values.json) {
      sayJson({ chosen: chosen.kind, description: chosen.description, hint: chosen.hint, backends: all });
      return 0;
    }
    for (const b of all) {
      const mark = b.kind === chosen.kind ? '→' : b.available ? '✓' : '✗';
      say(`${mark} ${b.kind.padEnd(10)} ${b.available ? b.description : b.reason}`);
      if (b.adapter && !b.available) say(`  ${b.description}`);
    }
    say(`training here runs on ${chosen.kind}: ${chosen.description}`);
    if (chosen.hint) say(chosen.hint);
    return 0;
  },
};
