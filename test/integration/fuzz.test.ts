import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REQUEST_CHANNELS } from '../../preload/contract.js';
import { handleRequest } from '../../main/core/api/handler.js';
import { Studio } from '../../main/core/studio.js';
import { startServer, type RunningServer } from '../../main/server/server.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';
import { upgradedSocket, wsFrame } from '../helpers/ws.js';

// 10,000 malformed and hostile messages through each transport (the WebSocket, and the handler
// the Electron IPC shell calls). The process must stay up, memory bounded, and the database
// intact and untouched: every message is built so that no valid write can come of it.

const MESSAGES = 10_000;
let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let server: RunningServer;

/** mulberry32: a seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_STRINGS = [
  '',
  '/proc',
  '/proc/self',
  '/sys',
  '/dev/zero',
  '/',
  '\0',
  'plates\0/etc/passwd',
  '../../../etc/passwd',
  'x'.repeat(100_000),
  '__proto__',
  'constructor',
  '%E0',
  '\u{1F426}'.repeat(5000),
];
/** Folders that must be refused: pseudo-filesystems, the root, NUL bytes, nowhere. */
const BAD_FOLDERS = [
  '/proc',
  '/proc/self',
  '/sys/kernel',
  '/dev',
  '/',
  'a\0b',
  '/nonexistent-plumage',
  'y'.repeat(5000),
];

function makeHostile(r: () => number, { ipc }: { ipc: boolean }): () => { method: unknown; params: unknown } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const numbers = [-1, 0, 0.5, -0, 2 ** 53, -(2 ** 31), 1e308, ...(ipc ? [NaN, Infinity, -Infinity] : [])];
  const hostileValue = (): unknown => {
    switch (Math.floor(r() * 8)) {
      case 0:
        return pick(HOSTILE_STRINGS);
      case 1:
        return pick(numbers);
      case 2:
        return pick([null, true, false, [], {}, [1, 2, 3], ['/proc']]);
      case 3:
        return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
      case 4:
        return Array.from({ length: 1 + Math.floor(r() * 50) }, () => pick(HOSTILE_STRINGS).slice(0, 100));
      case 5: {
        let deep: unknown = 1;
        for (let i = 0; i < 500; i++) deep = [deep];
        return deep;
      }
      case 6:
        return ipc ? pick([new Date(), new Map([['a', 1]]), new Uint8Array(10), 10n]) : pick(HOSTILE_STRINGS);
      default:
        return 10_000 + Math.floor(r() * 1e6); // a well-formed id that names nothing
    }
  };
  // Templates for every request. Ids name nothing that exists, and folders are ones that must be
  // refused, so even a template that survives mutation cannot write.
  const template = (method: string): Record<string, unknown> | undefined => {
    const absent = 10_000 + Math.floor(r() * 1e6);
    switch (method) {
      case 'openDataset':
        return { folder: pick(BAD_FOLDERS), resolution: pick([64, 256, 300]), crop: pick(['centre', 'subject']) };
      case 'getDataset':
      case 'cancelIngest':
        return { datasetId: absent };
      case 'listSources':
        return { datasetId: pick([1, absent]), status: 'accepted', offset: 0, limit: 1000 };
      case 'createRun':
        return { datasetId: absent, preset: 'tiny', targetKimg: 1, snapshotKimg: 1, checkpointKimg: 1 };
      case 'listTicks':
        return { runId: absent, afterId: 0 };
      case 'getRun':
      case 'startRun':
      case 'pauseRun':
      case 'stopRun':
      case 'snapshotRun':
      case 'deleteRun':
      case 'previewDeleteRun':
        return { runId: absent };
      case 'generate':
        return { generator: { runId: absent }, seeds: [0, 1], psi: 0.7, noiseMode: 'const' };
      case 'openGenerator':
        return { file: pick(BAD_FOLDERS) };
      case 'addFavourite':
        return { generator: { file: pick(BAD_FOLDERS) }, seed: 1, psi: 0.7, noiseMode: 'const', name: 'x' };
      case 'renderFavourite':
      case 'removeFavourite':
      case 'updateFavourite':
        return { id: absent };
      case 'interpolate':
        return { favouriteIds: [absent, absent + 1], space: 'w', frames: 5, fps: 5, format: 'gif' };
      default:
        return undefined;
    }
  };
  return () => {
    const method: unknown =
      r() < 0.85 ? pick(REQUEST_CHANNELS) : pick(['__proto__', 'constructor', 'toString', '', 'x'.repeat(1000), 42]);
    const base = template(String(method));
    let params: unknown = base;
    const how = r();
    if (how < 0.2) params = hostileValue();
    else if (base && how < 0.7) {
      const keys = Object.keys(base);
      params = { ...base, [pick(keys)]: hostileValue() };
    } else if (base && how < 0.85) params = { ...base, [pick(['__proto__', 'constructor', 'extra'])]: hostileValue() };
    else if (how < 0.9) params = hostileValue();
    return { method, params };
  };
}

/** Row counts of every table: "nothing is written" is checked against these. */
function rowCounts(): Record<string, number> {
  const tables = studio.db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all();
  return Object.fromEntries(
    tables.map(({ name }) => [
      name,
      (studio.db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n,
    ]),
  );
}

before(async () => {
  tmp = tempDir('fuzz');
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  for (const f of readdirSync(SAMPLE_PLATES)
    .filter((f) => f.endsWith('.jpg'))
    .slice(0, 3))
    copyFileSync(join(SAMPLE_PLATES, f), join(folder, f));
  studio = Studio.open({ home: join(tmp.dir, 'home'), resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server' });
  const ds = await studio.openDataset({ folder, resolution: 64, crop: 'centre' });
  await waitFor(async () => (await studio.getDataset({ datasetId: ds.id })).progress?.phase === 'watching', 30_000);
  server = await startServer(studio, { port: 0, rendererDir: join(REPO_ROOT, 'dist', 'renderer') });
});

after(async () => {
  await server.close();
  await studio.close();
  tmp.cleanup();
});

const assertUntouched = (before: Record<string, number>): void => {
  assert.deepEqual(studio.db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  assert.deepEqual(rowCounts(), before);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined, 'prototype polluted');
};

test('10,000 hostile calls to the IPC handler: each is answered, nothing is written', async () => {
  const counts = rowCounts();
  const next = makeHostile(rng(8), { ipc: true });
  const rss = process.memoryUsage().rss;
  const codes = new Map<string, number>();
  for (let i = 0; i < MESSAGES; i++) {
    const { method, params } = next();
    // What crosses Electron's IPC is a structured clone: send exactly that.
    const reply = await handleRequest(studio, method, structuredClone(params));
    const code = reply.ok ? 'ok' : reply.error.code;
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (!reply.ok) assert.ok(reply.error.message.length < 10_000, 'error messages stay short');
  }
  const grownMB = (process.memoryUsage().rss - rss) / 2 ** 20;
  assert.ok(grownMB < 150, `RSS grew ${grownMB.toFixed(0)} MB`);
  // The fuzz reached past validation too (not-found, unsupported), not only the schema.
  assert.ok((codes.get('invalid-input') ?? 0) > MESSAGES / 2, JSON.stringify([...codes]));
  assert.ok((codes.get('not-found') ?? 0) > 0 && (codes.get('unsupported') ?? 0) > 0, JSON.stringify([...codes]));
  assertUntouched(counts);
});

test('10,000 hostile WebSocket messages and raw bad frames: the server stays up, nothing is written', async () => {
  const counts = rowCounts();
  const r = rng(9);
  const next = makeHostile(r, { ipc: false });
  const url = `ws://127.0.0.1:${server.port}/api?token=${server.token}`;
  const open = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  let ws = await open();
  const rss = process.memoryUsage().rss;
  let answered = 0;
  let closes = 0;
  for (let id = 1; id <= MESSAGES; id++) {
    const { method, params } = next();
    const roll = r();
    let text: string;
    if (roll < 0.05)
      text = JSON.stringify({ id, method, params }).slice(0, Math.floor(r() * 40)); // cut short
    else if (roll < 0.08) text = JSON.stringify(['not', 'a', 'frame', id]);
    else if (roll < 0.1) text = `{"id": ${id}, "method": "createRun", "params": {"datasetId": 1e999}}`;
    else if (roll < 0.12) text = `{"id": 1e999, "method": "listRuns"}`;
    else text = JSON.stringify({ id, method, params });
    const outcome = await new Promise<'reply' | 'closed'>((resolve) => {
      const onMessage = (d: WebSocket.RawData): void => {
        const frame = JSON.parse(String(d)) as { id?: number };
        if (frame.id === id) done('reply');
      };
      const onClose = (): void => done('closed');
      const done = (o: 'reply' | 'closed'): void => {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve(o);
      };
      ws.on('message', onMessage);
      ws.on('close', onClose);
      ws.send(text);
    });
    if (outcome === 'reply') answered++;
    else {
      closes++;
      ws = await open(); // a frame with no id to answer closes that socket only
    }
  }
  // Raw frames no client library would send: each ends its own connection, nothing else.
  for (let i = 0; i < 200; i++) {
    const s = await upgradedSocket(server.port, server.token);
    s.on('error', () => {});
    const payload = Buffer.from(JSON.stringify({ id: 1, method: 'listRuns' }));
    const frames = [
      wsFrame(1, payload, { masked: false }),
      wsFrame(1 + Math.floor(r() * 2) * 2, Buffer.from([0xff, 0xc0, 0x80])),
      wsFrame(3 + Math.floor(r() * 5), payload),
      wsFrame(1, payload, { rsv: 1 + Math.floor(r() * 7) }),
      wsFrame(1, Buffer.alloc(0), { length: (1 << 20) + 1 + Math.floor(r() * 1e6) }),
      wsFrame(8, Buffer.from([0x03, 0xe7])), // close code 999
      Buffer.from(Array.from({ length: 64 }, () => Math.floor(r() * 256))),
    ];
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.write(frames[i % frames.length]!);
      setTimeout(() => s.destroy(), 500); // random bytes may just wait for more
    });
  }
  const grownMB = (process.memoryUsage().rss - rss) / 2 ** 20;
  assert.ok(grownMB < 150, `RSS grew ${grownMB.toFixed(0)} MB`);
  assert.ok(answered > MESSAGES * 0.8 && closes > 0, `${answered} answered, ${closes} closed`);
  // Still serving, on the socket that is open now.
  const reply = await new Promise<{ id?: number; ok: boolean }>((resolve) => {
    ws.on('message', (d) => {
      const frame = JSON.parse(String(d)) as { id?: number; ok: boolean };
      if (frame.id === 0) resolve(frame);
    });
    ws.send(JSON.stringify({ id: 0, method: 'listDatasets' }));
  });
  assert.ok(reply.ok);
  ws.close();
  assertUntouched(counts);
});
