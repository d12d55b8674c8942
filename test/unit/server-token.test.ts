import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN_FILE, serverToken } from '../../main/core/api/token.js';
import { tempDir } from '../helpers/paths.js';

test('the server token is kept per home, owner-only, so open pages can reconnect after a restart', () => {
  const tmp = tempDir('token');
  try {
    const first = serverToken(tmp.dir);
    assert.match(first, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(serverToken(tmp.dir), first);
    const file = join(tmp.dir, TOKEN_FILE);
    if (process.platform !== 'win32') assert.equal(statSync(file).mode & 0o777, 0o600);
    // A damaged or too-short token is replaced, never trusted.
    writeFileSync(file, 'short\n');
    const fresh = serverToken(tmp.dir);
    assert.notEqual(fresh, 'short');
    assert.equal(readFileSync(file, 'utf8').trim(), fresh);
  } finally {
    tmp.cleanup();
  }
});
