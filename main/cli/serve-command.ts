/** `plumage serve`: the headless shell (its flags are parsed by main/server, which it runs). */
import { z } from 'zod';
import { numberFlag, type CommandDef } from './usage.js';

const portField = z
  .number()
  .int('must be a whole number')
  .min(0, 'must be 0–65535 (0 = any free port)')
  .max(65_535, 'must be 0–65535 (0 = any free port)');

export const serveCommand: CommandDef = {
  name: 'serve',
  synopsis: 'serve [--port N] [--home DIR]',
  summary: 'Serves the app on 127.0.0.1 and prints the URL (with its token) to open in a browser.',
  details: `  --port N     the port (default 7424; 0 = any free port)
  --home DIR   where Plumage keeps its data
Ctrl-C pauses any running training with a checkpoint, then exits.`,
  options: { port: { type: 'string' }, home: { type: 'string' } },
  async run(values) {
    numberFlag(values, 'port', portField); // a mistake is a usage error here, before the home is opened
    const { serveMain } = await import('../server/index.js');
    const argv = Object.entries(values).flatMap(([k, v]) => (typeof v === 'string' ? [`--${k}`, v] : []));
    return serveMain(argv);
  },
};
