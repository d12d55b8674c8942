import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { portFile, tokenFile } from '../home-layout.js';

/** The headless server's token file in the home (owner-only, like the database beside it). */
export { TOKEN_FILE } from '../home-layout.js';
const TOKEN = /^[A-Za-z0-9_-]{32,128}$/;

/**
 * The token `serve` requires, kept per home: a page left open (its cookie holds the token)
 * reconnects by itself after the server restarts. Delete the file to revoke every open page.
 */
export function serverToken(home: string): string {
  const file = tokenFile(home);
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (TOKEN.test(kept)) return kept;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** The port `serve` listened on last time in this home, or null (none kept, or not a port). */
export function lastServerPort(home: string): number | null {
  try {
    const port = Number(readFileSync(portFile(home), 'utf8').trim());
    return Number.isInteger(port) && port > 0 && port <= 65_535 ? port : null;
  } catch {
    return null;
  }
}

/**
 * Keeps the port `serve` listens on, beside the token: with `--port 0` the next start tries it
 * first, so a page left open (its cookie holds the token) finds the server again where it was.
 */
export function rememberServerPort(home: string, port: number): void {
  writeFileSync(portFile(home), `${port}\n`, { mode: 0o600 });
}
