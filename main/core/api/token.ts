import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tokenFile } from '../home-layout.js';

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
