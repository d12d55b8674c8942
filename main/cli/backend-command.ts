/** `plumage backend [--json]`: every training backend, whether it can run here, and why not. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendInfo, BackendProbe } from '../core/runtime/backend-info.js';
import { forwardStderr } from '../core/util/child-stderr.js';
import type { CommandDef } from './usage.js';
import { say, sayJson } from './terminal.js';

const PROBE = fileURLToPath(new URL('../core/runtime/probe-backends.js', import.meta.url));

/** The probe runs in a child: Dawn's native warnings go to its stderr, which is read without them. */
function probe(): Promise<{ chosen: BackendInfo; all: BackendProbe[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROBE], { stdio: ['ignore', 'pipe', 'pipe'] });
    forwardStderr(child.stderr, 'backend probe');
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as { chosen: BackendInfo; all: BackendProbe[] });
      else reject(new Error(`the backend probe ended (${signal ?? `exit code ${code}`}) without a listing`));
    });
  });
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
