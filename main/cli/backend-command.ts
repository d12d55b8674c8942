/** `plumage backend [--json]`: every training backend, whether it can run here, and why not. */
import { parseArgs } from 'node:util';
import { probeBackends, releaseBackend } from '../core/gan/backend.js';

export async function backendCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
  const { chosen, all } = await probeBackends(() => {});
  releaseBackend(); // a live GPU device would keep the process from exiting
  if (values.json) {
    console.log(
      JSON.stringify({ chosen: chosen.kind, description: chosen.description, hint: chosen.hint, backends: all }),
    );
    return 0;
  }
  for (const b of all) {
    const mark = b.kind === chosen.kind ? '→' : b.available ? '✓' : '✗';
    console.log(`${mark} ${b.kind.padEnd(10)} ${b.available ? b.description : b.reason}`);
    if (b.adapter && !b.available) console.log(`  ${b.description}`);
  }
  console.log(`training here runs on ${chosen.kind}: ${chosen.description}`);
  if (chosen.hint) console.log(chosen.hint);
  return 0;
}
