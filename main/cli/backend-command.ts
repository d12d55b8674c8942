/** `plumage backend [--json]`: every training backend, whether it can run here, and why not. */
import type { CommandDef } from './usage.js';
import { say, sayJson } from './terminal.js';

export const backendCommand: CommandDef = {
  name: 'backend',
  synopsis: 'backend [--json]',
  summary: 'Lists every training backend: which one trains here, and why the faster ones do not.',
  details: `  --json   one object: chosen, description, hint, backends (each with available and reason)
Backends, fastest first: cuda, webgpu, cpu-native, wasm, cpu.`,
  options: { json: { type: 'boolean', default: false } },
  async run(values) {
    const { probeBackends, releaseBackend } = await import('../core/gan/backend.js');
    const { chosen, all } = await probeBackends(() => {});
    releaseBackend(); // a live GPU device would keep the process from exiting
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
