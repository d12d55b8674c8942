import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { upgradedSocket, wsFrame } from '../helpers/ws.js';
import WebSocket from 'ws';
import { serveApp, type ServedApp } from '../helpers/browser.js';
import { tokenCookieName } from '../../main/server/server.js';
import { tempDir } from '../helpers/paths.js';

// The server runs as its own process (`plumage serve`), as a user runs it: an input that crashes
// it shows up as a dead child here, not as a crashed test runner.
let tmp: ReturnType<typeof tempDir>;
let app: ServedApp;
let port: number;
let token: string;

before(async () => {
  tmp = tempDir('server-hostile');
  app = await serveApp(tmp.dir);
  const url = new URL(app.url);
  port = Number(url.port);
  token = url.searchParams.get('token')!;
});

after(async () => {
  await app.stop();
  tmp.cleanup();
});

/** Sends raw bytes and returns everything the server writes back until it closes (or 3 s pass). */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => s.destroy(), 3000);
    s.on('data', (d) => {
      out += d.toString('latin1');
      // One response is enough: stop at the end of its headers for bodiless replies.
      if (/\r\n\r\n/.test(out) && /content-length: 0|^HTTP\/1\.1 [45]\d\d/im.test(out)) s.end();
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('error', reject);
    s.write(bytes);
  });
}

const status = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

/** The server is alive and still answers a normal request over a fresh socket. */
async function assertServing(what: string): Promise<void> {
  assert.equal(app.process.exitCode, null, `the server died after ${what}`);
  assert.equal(app.process.signalCode, null, `the server died after ${what}`);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api?token=${token}`);
  const reply = await new Promise<{ ok: boolean }>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'getAppInfo' })));
    ws.on('message', (d) => {
      const frame = JSON.parse(String(d)) as { id?: number; ok: boolean };
      if (frame.id === 1) resolve(frame); // events may come first
    });
  });
  ws.close();
  assert.ok(reply.ok, `getAppInfo after ${what}`);
}

const host = (): string => `Host: 127.0.0.1:${port}\r\n`;

test('malformed HTTP requests get a 400 and the server carries on', async () => {
  const cases: [string, string][] = [
    ['a request line new URL() refuses', `GET //[x HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`],
    ['the same, with the token', `GET //[x?token=${token} HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`],
    [
      'a cookie decodeURIComponent refuses',
      `GET / HTTP/1.1\r\n${host()}Cookie: ${tokenCookieName(token)}=%E0\r\nConnection: close\r\n\r\n`,
    ],
    ['bad percent-encoding in a path', `GET /%E0%A4?token=${token} HTTP/1.1\r\n${host()}Connection: close\r\n\r\n`],
    [
      'bad percent-encoding in a media path',
      `GET /media/thumbs/%zz.png HTTP/1.1\r\n${host()}Cookie: ${tokenCookieName(token)}=${token}\r\nConnection: close\r\n\r\n`,
    ],
    [
      'a socket upgrade on an unparseable URL',
      `GET //[x HTTP/1.1\r\n${host()}Upgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ],
    [
      'a socket upgrade with a bad cookie',
      `GET /api HTTP/1.1\r\n${host()}Cookie: ${tokenCookieName(token)}=%E0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ],
  ];
  for (const [what, request] of cases) {
    const response = await raw(request);
    assert.ok([400, 401, 404].includes(status(response)), `${what}: ${response.slice(0, 80)}`);
    await assertServing(what);
  }
  // The request line and the bad percent-encoding are a client error, not an auth failure.
  assert.equal(status(await raw(cases[0]![1])), 400);
  assert.equal(status(await raw(cases[3]![1])), 400);
});

const upgraded = (): Promise<Socket> => upgradedSocket(port, token);

/** Sends bytes on an upgraded socket; resolves with the close code the server answers with. */
function closeCodeFor(bytes: Buffer): Promise<number | null> {
  return upgraded().then(
    (s) =>
      new Promise((resolve) => {
        let got = Buffer.alloc(0);
        const timer = setTimeout(() => s.destroy(), 3000);
        s.on('data', (d) => (got = Buffer.concat([got, d])));
        s.on('error', () => {});
        s.on('close', () => {
          clearTimeout(timer);
          // A close frame: 0x88, length, then the 2-byte code.
          const i = got.indexOf(0x88);
          resolve(i >= 0 && got.length >= i + 4 ? got.readUInt16BE(i + 2) : null);
        });
        s.write(bytes);
      }),
  );
}

test('WebSocket protocol errors close that socket only', async () => {
  const closeCode = (code: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    return b;
  };
  const cases: [string, Buffer, number][] = [
    ['a message over the 1 MiB limit', wsFrame(1, Buffer.alloc(0), { length: 2 << 20 }), 1009],
    ['invalid UTF-8', wsFrame(1, Buffer.from([0xff, 0xfe, 0xfd])), 1007],
    ['a reserved opcode', wsFrame(3, Buffer.from('x')), 1002],
    ['an unmasked frame', wsFrame(1, Buffer.from('{}'), { masked: false }), 1002],
    ['a bad close code', wsFrame(8, closeCode(999)), 1002],
    ['a reserved bit set', wsFrame(1, Buffer.from('{}'), { rsv: 2 }), 1002],
    ['a fragmented control frame', Buffer.from([0x09, 0x80, 0, 0, 0, 0]), 1002],
  ];
  // A bystander's socket stays open through all of them.
  const bystander = new WebSocket(`ws://127.0.0.1:${port}/api?token=${token}`);
  await new Promise((r, j) => (bystander.once('open', r), bystander.once('error', j)));
  for (const [what, bytes, code] of cases) {
    assert.equal(await closeCodeFor(bytes), code, what);
    await assertServing(what);
  }
  assert.equal(bystander.readyState, WebSocket.OPEN);
  bystander.close();
});

test('a file that vanishes while it is being served costs that request only', async () => {
  // Race deletion against serving: the page's own assets cannot vanish, so use media in the home.
  const { mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(tmp.dir, 'thumbs', 'race');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'x.png');
  const body = randomBytes(256 << 10);
  const request = `GET /media/thumbs/race/x.png HTTP/1.1\r\n${host()}Cookie: ${tokenCookieName(token)}=${token}\r\nConnection: close\r\n\r\n`;
  for (let round = 0; round < 40; round++) {
    writeFileSync(file, body);
    const replies = Array.from({ length: 8 }, () => raw(request));
    await new Promise((r) => setImmediate(r));
    rmSync(file, { force: true });
    for (const reply of await Promise.all(replies)) assert.ok([200, 404].includes(status(reply)), reply.slice(0, 40));
  }
  await assertServing('files deleted while being served');
});

/** Resident memory of the server process, from procfs (Linux). */
const rssMB = (): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${app.process.pid}/status`, 'utf8'))![1]) / 1024;

/** One request over a fresh socket with the token. */
async function call(method: string, params?: unknown): Promise<unknown> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api?token=${token}`);
  const reply = await new Promise<{ id?: number; ok: boolean; result: unknown }>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ id: 1, method, params })));
    ws.on('message', (d) => {
      const frame = JSON.parse(String(d)) as { id?: number; ok: boolean; result: unknown };
      if (frame.id === 1) resolve(frame);
    });
  });
  ws.close();
  assert.ok(reply.ok, `${method}: ${JSON.stringify(reply)}`);
  return reply.result;
}

test('a client that stops reading is dropped before its replies pile up', async (t) => {
  // The bundled samples (opened on a first start) give replies of a few KB each.
  const { waitFor } = await import('../helpers/paths.js');
  const datasetId = await waitFor(async () => {
    const [d] = (await call('listDatasets')) as { id: number; counts: { accepted: number } }[];
    return d && d.counts.accepted === 24 ? d.id : null;
  }, 60_000);
  const params = { datasetId, status: 'accepted', offset: 0, limit: 1000 };
  const one = (id: number): Buffer => wsFrame(1, Buffer.from(JSON.stringify({ id, method: 'listSources', params })));
  const replySize = JSON.stringify(await call('listSources', params)).length;
  assert.ok(replySize > 2000, `a reply of ${replySize} bytes`);
  const s = await upgraded();
  s.pause(); // never read: every reply stays queued on the server's side
  const before = rssMB();
  let closed = false;
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  // 20,000 requests whose replies are ~100 MB together, far over the per-socket bound.
  for (let batch = 0; batch < 20 && !s.destroyed; batch++) {
    const frames = Buffer.concat(Array.from({ length: 1000 }, (_, i) => one(batch * 1000 + i)));
    await new Promise<void>((r) => (s.write(frames) ? r() : s.once('drain', r)));
  }
  await new Promise((r) => setTimeout(r, 1500));
  // Now read what was queued: the server must have cut the connection well before all replies.
  let replies = 0;
  let tail = '';
  s.on('data', (d: Buffer) => {
    tail = (tail + d.toString('latin1')).slice(-64);
    replies += (d.toString('latin1').match(/"ok":/g) ?? []).length;
  });
  s.resume();
  await waitFor(() => closed, 10_000, 'the server to drop the slow client').catch((err: Error) => {
    throw new Error(`${err.message} (${replies} replies read)`);
  });
  assert.ok(replies < 20_000, `got all ${replies} replies: nothing was dropped`);
  const grown = rssMB() - before;
  t.diagnostic(
    `${replies} of 20,000 replies before the drop; server RSS ${before.toFixed(0)} → +${grown.toFixed(1)} MB`,
  );
  assert.ok(grown < 64, `server RSS grew ${grown.toFixed(0)} MB for one slow client`);
  await assertServing('a client that stopped reading');
});
