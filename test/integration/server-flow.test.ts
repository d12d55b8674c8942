import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Studio } from '../../main/core/studio.js';
import { startServer } from '../../main/server/server.js';
import { REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';

test('a client that sends faster than the core answers waits at its socket, not in server memory', async () => {
  const tmp = tempDir('server-flow');
  // A core that never answers: every request stays in flight.
  let started = 0;
  const stuck = Object.assign(new EventEmitter(), {
    home: tmp.dir,
    handle: () => {
      started++;
      return new Promise(() => {});
    },
    pickFolder: () => new Promise(() => {}),
  }) as unknown as Studio;
  const server = await startServer(stuck, { port: 0, rendererDir: join(REPO_ROOT, 'dist', 'renderer') });
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
  try {
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const padding = 'x'.repeat(200);
    for (let id = 1; id <= 50_000; id++) ws.send(JSON.stringify({ id, method: 'listRuns', params: { padding } }));
    await waitFor(() => started >= 32, 5_000, 'the first requests');
    await new Promise((r) => setTimeout(r, 1000));
    // The server stopped reading after its 32 plus what one read had already buffered; the rest (~12 MB)
    // is still queued here.
    assert.ok(started < 1000, `${started} requests taken in`);
    assert.ok(ws.bufferedAmount > 4 << 20, `${ws.bufferedAmount} bytes still waiting at the client`);
  } finally {
    ws.terminate();
    await server.close();
    tmp.cleanup();
  }
});
