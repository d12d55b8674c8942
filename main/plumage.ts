#!/usr/bin/env node
/**
 * The `plumage` executable. It stands above the shells so that they need not import each other:
 * it runs the CLI shell and hands it the one other shell the CLI can start, the headless server
 * (`plumage serve`), loaded only when that command runs.
 */
import { runCli } from './cli/index.js';

await runCli(process.argv.slice(2), {
  serve: async (argv) => (await import('./server/index.js')).serveMain(argv),
});
