import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Studio } from '../../main/core/studio.js';
import { startServer, type RunningServer } from '../../main/server/server.js';
import type { ServerFrame } from '../../preload/contract.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';

let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let server: RunningServer;

before(async () => {
  tmp = tempDir('server');
  studio = Studio.open({ home: join(tmp.dir, 'home'), resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server' });
  server = await startServer(studio, { port: 0, rendererDir: join(REPO_ROOT, 'dist', 'renderer') });
});

after(async () => {
  await server.close();
  await studio.close();
  tmp.cleanup();
});

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function socket(query: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, origin ? { origin } : {});
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function call(ws: WebSocket, id: number, method: string, params?: unknown): Promise<ServerFrame> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      if ('id' in frame && frame.id === id) {
        ws.off('message', onMessage);
        resolve(frame);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, method, params }));
  });
}

test('the server listens on 127.0.0.1 and prints a URL with a fresh token', () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
});

test('pages are refused without the token and served with it, under a strict CSP', async () => {
  assert.equal((await get('/')).status, 401);
  assert.equal((await get('/?token=wrong')).status, 401);
  const ok = await get(`/?token=${server.token}`);
  assert.equal(ok.status, 200);
  assert.match(ok.body, /<div id="app">/);
  assert.match(String(ok.headers['content-security-policy']), /default-src 'self'/);
  // Named after the token, so two servers on 127.0.0.1 (cookies ignore ports) keep their own.
  assert.match(server.cookieName, /^plumage_[0-9a-f]{16}$/);
  assert.match(String(ok.headers['set-cookie']), new RegExp(`^${server.cookieName}=.*HttpOnly; SameSite=Strict`));
  // The page's own assets ride on the cookie.
  const cookie = `${server.cookieName}=${server.token}`;
  const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(ok.body)![1]!;
  assert.equal((await get(`/${asset}`, { cookie })).status, 200);
});

test('a request naming another host is refused, token or not (DNS rebinding)', async () => {
  assert.equal((await get(`/?token=${server.token}`, { host: 'evil.example:80' })).status, 401);
});

test('media requests cannot escape the media folders', async () => {
  const cookie = `${server.cookieName}=${server.token}`;
  for (const path of [
    '/media/../plumage.db',
    '/media/thumbs/../../plumage.db',
    '/media/plumage.db',
    '/media/thumbs/%2e%2e/x.png',
    '/../package.json',
  ]) {
    const r = await get(path, { cookie });
    assert.equal(r.status, 404, path);
  }
});

test('the WebSocket needs the token and a same-origin page', async () => {
  await assert.rejects(socket(''), /401/);
  await assert.rejects(socket(`?token=${server.token}`, 'https://evil.example'), /401/);
  const ws = await socket(`?token=${server.token}`, `http://127.0.0.1:${server.port}`);
  const info = await call(ws, 1, 'getAppInfo');
  assert.ok('ok' in info && info.ok);
  assert.equal((info.result as { shell: string }).shell, 'server');
  assert.match((info.result as { credit: string }).credit, /Courtesy of the John James Audubon Center at Mill Grove/);
  ws.close();
});

test('requests are validated against the contract before they reach the core', async () => {
  const ws = await socket(`?token=${server.token}`);
  const bad = await call(ws, 1, 'openDataset', { folder: '/x', resolution: 300, crop: 'centre' });
  assert.ok('ok' in bad && !bad.ok && bad.error.code === 'invalid-input', JSON.stringify(bad));
  const unknown = await call(ws, 2, 'dropTables', {});
  assert.ok('ok' in unknown && !unknown.ok && unknown.error.code === 'invalid-input');
  const missing = await call(ws, 3, 'openDataset', { folder: join(tmp.dir, 'nope'), resolution: 64, crop: 'centre' });
  assert.ok(
    'ok' in missing &&
      !missing.ok &&
      missing.error.code === 'not-found' &&
      /folder not found/.test(missing.error.message),
  );
  const dialog = await call(ws, 4, 'pickFolder');
  assert.ok('ok' in dialog && !dialog.ok && dialog.error.code === 'unsupported');
  ws.close();
});

test('events reach the browser: opening a folder streams progress and a dataset summary', async () => {
  const ws = await socket(`?token=${server.token}`);
  const events: ServerFrame[] = [];
  ws.on('message', (d) => {
    const f = JSON.parse(String(d)) as ServerFrame;
    if ('event' in f) events.push(f);
  });
  const opened = await call(ws, 1, 'openDataset', { folder: SAMPLE_PLATES, resolution: 64, crop: 'centre' });
  assert.ok('ok' in opened && opened.ok);
  await waitFor(
    () =>
      events.some(
        (e) => 'event' in e && e.event === 'ingestProgress' && (e.payload as { phase: string }).phase === 'watching',
      ),
    30_000,
    'watching',
  );
  await waitFor(
    () =>
      events.some(
        (e) =>
          'event' in e &&
          e.event === 'datasetChanged' &&
          (e.payload as { counts: { accepted: number } }).counts.accepted === 24,
      ),
    5_000,
    'summary with 24 plates',
  );
  // The thumbnails it lists are served.
  const page = await call(ws, 2, 'listSources', {
    datasetId: (opened as { result: { id: number } }).result.id,
    status: 'accepted',
    offset: 0,
    limit: 5,
  });
  const thumb = (page as { result: { items: { thumb: string }[] } }).result.items[0]!.thumb;
  const png = await get(`/media/${thumb}`, { cookie: `${server.cookieName}=${server.token}` });
  assert.equal(png.status, 200);
  assert.equal(png.headers['content-type'], 'image/png');
  ws.close();
});
