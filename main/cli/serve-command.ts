/**
 * `plumage serve`: the headless shell. Its flags are checked here and parsed again by main/server,
 * which runs it; the CLI never imports the server (shells never import each other), so whoever
 * starts the CLI hands it the launcher (main/plumage.ts).
 */
import { z } from 'zod';
import { numberFlag, type CommandDef } from './usage.js';

const portField = z
  .number()
  .int('must be a whole number')
  .min(0, 'must be 0–65535 (0 = any free port)')
  .max(65_535, 'must be 0–65535 (0 = any free port)');

/** Runs the headless server with these flags until SIGINT/SIGTERM; resolves to the exit code. */
export type ServeLauncher = (argv: string[]) => Promise<number>;

export const serveCommand = (serve: ServeLauncher): CommandDef => ({
  name: 'serve',
  synopsis: 'serve [--port N] [--home DIR] [--json]',
  summary: 'Serves the app on 127.0.0.1 and prints the URL (with its token) to open in a browser.',
  details: `  --port N     the port (default 7424; 0 = any free port)
  --home DIR   where Plumage keeps its data
  --json       say each thing as one JSON object a line: {"event":"serving","url",…} once it
               listens, then stopping, pausing/paused (a run), stopped
Ctrl-C pauses any running training with a checkpoint, then exits.`,
  options: { port: { type: 'string' }, home: { type: 'string' }, json: { type: 'boolean', default: false } },
  async run(values) {
    numberFlag(values, 'port', portField); // a mistake is a usage error here, before the home is opened
    const argv = Object.entries(values).flatMap(([k, v]) =>
      typeof v === 'string' ? [`--${k}`, v] : v === true ? [`--${k}`] : [],
    );
    return serve(argv);
  },
});
