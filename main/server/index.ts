import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lastServerPort, rememberServerPort, serverToken } from '../core/api/token.js';
import { resolveHome } from '../core/home.js';
import { Studio } from '../core/studio.js';
import { pausedLine, pausingLine, resumeCommand } from '../core/train/pause-report.js';
import { APP_ROOT, DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { startServer, type RunningServer } from './server.js';

export const DEFAULT_PORT = 7424;

/** `plumage serve` / `npm run serve`: the whole app, headless, for a browser. Runs until SIGINT/SIGTERM. */
export async function serveMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, home: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  // --json: one JSON object a line for each thing serve says (JSON Lines), for a program that
  // starts it and waits for its URL; without, the sentences below.
  const say = (event: Record<string, unknown> & { event: string }, line: string): void =>
    console.log(values.json ? JSON.stringify(event) : line);
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0–65535 (0 = any free port), got ${values.port}`);
  const studio = Studio.open({
    home: resolveHome(values.home),
    resourcesDir: DEFAULT_RESOURCES_DIR,
    shell: 'server',
    scoreCheckpoints: true,
  });
  const defaultHome = studio.home === resolveHome();
  // Listen before anything is awaited: a signal during start-up must still pause runs and exit cleanly.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  void studio.warmUp().catch(() => {}); // the gallery's first screenful need not wait for tfjs to start
  const listen = (on: number): Promise<RunningServer> =>
    startServer(studio, { port: on, rendererDir: join(APP_ROOT, 'dist', 'renderer'), token: serverToken(studio.home) });
  // Any free port (0): the one it had last time first, so a page left open finds it again.
  const last = port === 0 ? lastServerPort(studio.home) : null;
  let server: RunningServer;
  try {
    server = await listen(last ?? port).catch((err: NodeJS.ErrnoException) => {
      if (last === null || err.code !== 'EADDRINUSE') throw err;
      say(
        { event: 'port-taken', port: last },
        `port ${last}, where this home was served last time, is in use: taking another`,
      );
      return listen(0);
    });
  } catch (err) {
    await studio.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new Error(`port ${port} is in use: pick another with --port N (0 = any free one)`);
    throw err;
  }
  rememberServerPort(studio.home, server.port);
  if (values.json) say({ event: 'serving', url: server.url, port: server.port, home: studio.home }, '');
  else {
    console.log(`Plumage ${defaultHome ? '' : `(home ${studio.home}) `}is serving on 127.0.0.1:${server.port}. Open:`);
    console.log(server.url);
  }
  await studio.resume();
  const signal = await stopped;

  // Say what stopping does while it does it: each run pauses with a checkpoint, then the server goes.
  say(
    { event: 'stopping', signal },
    `plumage serve: ${signal === 'SIGINT' ? 'interrupted' : 'asked to stop'}; stopping`,
  );
  const paused = await studio.pauseAll('server', (r) => say({ event: 'pausing', runId: r.id }, pausingLine(r)));
  for (const r of paused) {
    const dataset = await studio.getDataset({ datasetId: r.datasetId }).catch(() => undefined);
    const command = resumeCommand(r, dataset, defaultHome ? null : studio.home);
    const resume = `Resume in the Training view once it serves again, or: ${command}`;
    say(
      { event: 'paused', runId: r.id, state: r.state, resumeKimg: r.resumeKimg, resume: command },
      pausedLine(r, resume),
    );
  }
  await server.close();
  await studio.close();
  say({ event: 'stopped' }, 'plumage serve: stopped');
  return 0;
}
