import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serverToken } from '../core/api/token.js';
import { resolveHome } from '../core/home.js';
import { Studio } from '../core/studio.js';
import { APP_ROOT, DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { startServer } from './server.js';

export const DEFAULT_PORT = 7424;

/** `plumage serve` / `npm run serve`: the whole app, headless, for a browser. Runs until SIGINT/SIGTERM. */
export async function serveMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, home: { type: 'string' } },
  });
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0–65535 (0 = any free port), got ${values.port}`);
  const studio = Studio.open({ home: resolveHome(values.home), resourcesDir: DEFAULT_RESOURCES_DIR, shell: 'server' });
  void studio.gallery.warmUp().catch(() => {}); // the gallery's first screenful need not wait for tfjs to start
  let server;
  try {
    server = await startServer(studio, {
      port,
      rendererDir: join(APP_ROOT, 'dist', 'renderer'),
      token: serverToken(studio.home),
    });
  } catch (err) {
    await studio.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new Error(`port ${port} is in use: pick another with --port N (0 = any free one)`);
    throw err;
  }
  console.log(
    `Plumage ${studio.home === resolveHome() ? '' : `(home ${studio.home}) `}is serving on 127.0.0.1:${server.port}. Open:`,
  );
  console.log(server.url);
  await studio.resume();
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await studio.close();
  return 0;
}
