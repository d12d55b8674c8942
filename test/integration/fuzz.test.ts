import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REQUEST_CHANNELS } from '../../preload/contract.js';
import { handleRequest } from '../../main/core/api/handler.js';
import { Studio } from '../../main/core/studio.js';
import { startServer, type RunningServer } from '../../main/server/server.js';
import {
  RAW_INTERNALS,
  SMALL,
  bounded,
  configMetadata,
  generatorTensors,
  hostileGenerators,
  mkfifo,
  rawSafetensors,
  releasePipes,
  type HostileFile,
} from '../helpers/hostile-files.js';
import { A5_PRINT } from '../helpers/prints.js';
import { CLI, REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';
import { upgradedSocket, wsFrame } from '../helpers/ws.js';

// 10,000 malformed and hostile messages through each transport (the WebSocket, and the handler
// the Electron IPC shell calls). The process must stay up, memory bounded, and the database
// intact and untouched: every message is built so that no valid write can come of it.

const MESSAGES = 10_000;
let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let server: RunningServer;
let datasetId: number;
/** Pipes the tests made: opened for writing at the end, so no reader stuck on one outlives the file. */
const pipes: string[] = [];

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
      case 'forgetDataset':
      case 'previewSource':
        return { datasetId: absent };
      case 'listSources':
        return { datasetId: pick([1, absent]), status: 'accepted', offset: 0, limit: 1000 };
      case 'trainFolder':
        return { folder: pick(BAD_FOLDERS), preset: 'tiny', targetKimg: 1 };
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
      case 'getFavourite':
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
  datasetId = ds.id;
  await waitFor(async () => (await studio.getDataset({ datasetId: ds.id })).progress?.phase === 'watching', 30_000);
  server = await startServer(studio, { port: 0, rendererDir: join(REPO_ROOT, 'dist', 'renderer') });
});

after(async () => {
  releasePipes(pipes);
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

// ── Hostile files: every request that takes a path ──────────────────────────────────────────────

/** One request's refusal of a hostile file: quick, small, one sentence naming the file and saying why. */
async function assertRefused(h: HostileFile, what: string, op: () => Promise<{ ok: boolean; message: string }>) {
  const r = await bounded(op, 15_000);
  assert.ifError(r.error); // a hang (or a throw past the handler) fails here, with its name below
  const label = `${what} with ${h.name}`;
  assert.equal(r.value!.ok, false, `${label} was accepted`);
  const message = r.value!.message;
  assert.ok(message.includes(h.path), `${label}: the message names the file: ${message}`);
  assert.match(message, h.says, label);
  assert.doesNotMatch(message, RAW_INTERNALS, `${label}: internals reach the user: ${message}`);
  assert.ok(r.ms < 5000, `${label} took ${r.ms.toFixed(0)} ms`);
  assert.ok(r.peakMB < 200, `${label} grew the process by ${r.peakMB.toFixed(0)} MB`);
}

async function ask(method: string, params: unknown): Promise<{ ok: boolean; message: string; result?: unknown }> {
  const reply = await handleRequest(studio, method, params);
  return reply.ok ? { ok: true, message: '', result: reply.result } : { ok: false, message: reply.error.message };
}

/** A generator that loads and draws (zero weights): what favourites start from before their file is swapped. */
function goodGenerator(path: string): void {
  rawSafetensors(path, generatorTensors(SMALL), configMetadata(SMALL));
}

test(
  'hostile generator files through open, generate, favourite and fine-tune requests: each refused at once, by name',
  { timeout: 300_000 },
  async () => {
    const counts = rowCounts();
    const hostile = hostileGenerators(join(tmp.dir, 'hostile'));
    pipes.push(...hostile.map((h) => h.path));
    for (const h of hostile) {
      await assertRefused(h, 'openGenerator', () => ask('openGenerator', { file: h.path }));
      await assertRefused(h, 'generate', () =>
        ask('generate', { generator: { file: h.path }, seeds: [0, 1], psi: 0.7, noiseMode: 'const' }),
      );
      await assertRefused(h, 'addFavourite', () =>
        ask('addFavourite', { generator: { file: h.path }, seed: 1, psi: 0.7, noiseMode: 'const' }),
      );
      // Fine-tuning: the run is never created (once it was, and ended "crashed" with advice to fork it).
      await assertRefused(h, 'createRun initFrom', () =>
        ask('createRun', {
          datasetId,
          preset: 'tiny',
          targetKimg: 1,
          snapshotKimg: 1,
          checkpointKimg: 1,
          initFrom: h.path,
        }),
      );
    }
    assertUntouched(counts);
    // Nothing was left queued or stuck in the generator process: a good file draws at once.
    const good = join(tmp.dir, 'good-after-hostile.safetensors');
    goodGenerator(good);
    const drawn = await bounded(async () => {
      const r = await studio.gallery.generate({ generator: { file: good }, seeds: [0], psi: 0.7, noiseMode: 'const' });
      await studio.gallery.settle(r);
    }, 60_000);
    assert.ifError(drawn.error);
  },
);

test('a generator that cannot train as the run is refused by createRun, naming why; one of another resolution is transferred', async () => {
  const counts = rowCounts();
  const file = join(tmp.dir, 'grey.safetensors');
  rawSafetensors(file, generatorTensors({ ...SMALL, imgChannels: 1 }), configMetadata({ ...SMALL, imgChannels: 1 }));
  const reply = await ask('createRun', {
    datasetId,
    preset: 'tiny',
    targetKimg: 1,
    snapshotKimg: 1,
    checkpointKimg: 1,
    initFrom: file,
  });
  assert.equal(reply.ok, false);
  assert.match(
    reply.message,
    /grey\.safetensors holds a 16² generator that cannot train as this tiny run: it draws 1 colour channel\(s\), the run's images have 3/,
  );
  assertUntouched(counts);
  // A 16² generator of three channels starts a 32² run: its blocks are kept, the new top block starts fresh.
  const sixteen = join(tmp.dir, 'sixteen.safetensors');
  goodGenerator(sixteen);
  const made = await ask('createRun', {
    datasetId,
    preset: 'tiny',
    targetKimg: 1,
    snapshotKimg: 1,
    checkpointKimg: 1,
    initFrom: sixteen,
  });
  assert.equal(made.ok, true, JSON.stringify(made));
  // The run says what it kept of the file, as the app and `train --from` show it.
  const started = (made.result as { startedFrom: { note: string; fresh: string[]; kept: string[] } }).startedFrom;
  assert.ok(started.kept.includes('G.synthesis.b16') && started.fresh.includes('G.synthesis.b32'), started.note);
  assert.match(
    started.note,
    /started from .*sixteen\.safetensors: G, G_ema — \d+ of \d+ tensors kept; started fresh: .*G\.synthesis\.b32/,
  );
});

test(
  'generate --checkpoint with each hostile file: the CLI says what is wrong with it, in bounded time',
  { timeout: 300_000 },
  async () => {
    const hostile = hostileGenerators(join(tmp.dir, 'hostile-cli'));
    pipes.push(...hostile.map((h) => h.path));
    const out = join(tmp.dir, 'cli-out');
    for (const h of hostile) {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [CLI, 'generate', '--checkpoint', h.path, '--seeds', '0', '--out', out],
          { timeout: 60_000 },
          (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
        );
        child.stdin?.end();
      });
      assert.notEqual(r.code, 0, `generate --checkpoint ${h.name} succeeded`);
      assert.equal(typeof r.code, 'number', `generate --checkpoint ${h.name} was killed (hung or grew): ${r.stderr}`);
      assert.ok(r.stderr.includes(h.path), `${h.name}: ${r.stderr}`);
      // The flag is --checkpoint, and the CLI's first check says so.
      const says = new RegExp(h.says.source.replace('generator file', '(generator|checkpoint) file'));
      assert.match(r.stderr, says, h.name);
      assert.doesNotMatch(r.stderr, RAW_INTERNALS, h.name);
    }
  },
);

test(
  'a favourite whose generator file became a pipe, /dev/zero or a lie: render and export refuse it, by name, at once',
  { timeout: 300_000 },
  async () => {
    const file = join(tmp.dir, 'favourite-generator.safetensors');
    goodGenerator(file);
    const fav = await studio.gallery.addFavourite({ generator: { file }, seed: 4, psi: 0.7, noiseMode: 'const' });
    const prints = join(tmp.dir, 'prints');
    mkdirSync(prints);
    const kept = `${file}.kept`;
    renameSync(file, kept);
    const swaps: HostileFile[] = [
      { name: 'pipe', path: file, says: /is a named pipe, not a generator file/ },
      { name: '/dev/zero', path: file, says: /links to \/dev\/zero, a device, not a generator file/ },
      { name: 'shape lie', path: file, says: /\[20000, 20000\] F32 \(1\.5 GB\) but holds 4 bytes/ },
      { name: 'config lie', path: file, says: /its resolution is 1048576/ },
    ];
    const make: Record<string, () => void> = {
      pipe: () => mkfifo(file),
      '/dev/zero': () => symlinkSync('/dev/zero', file),
      'shape lie': () => rawSafetensors(file, [{ name: 'G_ema.mapping.fc0.weight', shape: [20000, 20000], bytes: 4 }]),
      'config lie': () =>
        rawSafetensors(file, generatorTensors(SMALL), configMetadata({ ...SMALL, resolution: 2 ** 20 })),
    };
    pipes.push(file);
    try {
      for (const h of swaps) {
        make[h.name]!();
        await assertRefused(h, 'renderFavourite', () => ask('renderFavourite', { id: fav.id }));
        const exported = () =>
          ask('exportPrints', { favourites: [fav.id], options: { ...A5_PRINT, upscaler: 'lanczos' }, folder: prints });
        if (h.name === 'pipe' || h.name === '/dev/zero') {
          // Not a file: refused before an export process opens it (it would hang it, or fill it).
          await assertRefused(h, 'exportPrints', exported);
        } else {
          // A file whose content lies: the export process refuses it from its header, that print
          // fails by name, and the job ends at once (other prints of a batch would carry on).
          const start = await exported();
          assert.ok(start.ok, start.message);
          const jobId = (start.result as { job: { jobId: number } }).job.jobId;
          const end = await bounded(() => studio.exports.whenDone(jobId), 30_000);
          assert.ifError(end.error);
          assert.equal(end.value!.failed.length, 1, JSON.stringify(end.value));
          const why = end.value!.failed[0]!.error;
          assert.ok(why.includes(file), why);
          assert.match(why, h.says);
          assert.doesNotMatch(why, RAW_INTERNALS);
        }
        releasePipes([file]);
        rmSync(file, { force: true });
      }
    } finally {
      renameSync(kept, file);
    }
    // Nothing queued behind a stuck export: the restored file exports.
    const start = (await ask('exportPrints', {
      favourites: [fav.id],
      options: { ...A5_PRINT, upscaler: 'lanczos' },
      folder: prints,
    })) as { ok: boolean; message: string; result?: { job?: { jobId: number } } };
    assert.ok(start.ok, start.message);
    const end = await bounded(() => studio.exports.whenDone(start.result!.job!.jobId), 120_000);
    assert.ifError(end.error);
    assert.equal(end.value!.state, 'done', JSON.stringify(end.value));
  },
);

test(
  'a pipe, a socket and a /dev/zero link in a dataset folder: each gets its row, none is read',
  { timeout: 120_000 },
  async () => {
    const folder = join(tmp.dir, 'odd-plates');
    mkdirSync(folder);
    copyFileSync(
      join(
        SAMPLE_PLATES,
        readdirSync(SAMPLE_PLATES).find((f) => f.endsWith('.jpg'))!,
      ),
      join(folder, 'bird.jpg'),
    );
    mkfifo(join(folder, 'pipe.jpg'));
    pipes.push(join(folder, 'pipe.jpg'));
    symlinkSync('/dev/zero', join(folder, 'zero.png'));
    const socket = createServer().listen(join(folder, 'socket.jpg'));
    try {
      const r = await bounded(async () => {
        const ds = await studio.openDataset({ folder, resolution: 64, crop: 'centre' });
        await waitFor(
          async () => (await studio.getDataset({ datasetId: ds.id })).progress?.phase === 'watching',
          30_000,
        );
        return ds.id;
      }, 60_000);
      assert.ifError(r.error);
      assert.ok(r.peakMB < 300, `the ingest grew the process by ${r.peakMB.toFixed(0)} MB`);
      const page = await studio.listSources({ datasetId: r.value!, status: 'rejected', offset: 0, limit: 10 });
      const reasons = Object.fromEntries(page.items.map((i) => [i.file, i.reason]));
      assert.deepEqual(reasons, {
        'pipe.jpg': 'a named pipe, not a file',
        'socket.jpg': 'a socket, not a file',
        'zero.png': 'symlink to /dev/zero, a device, not a file',
      });
      const accepted = await studio.listSources({ datasetId: r.value!, status: 'accepted', offset: 0, limit: 10 });
      assert.deepEqual(
        accepted.items.map((i) => i.file),
        ['bird.jpg'],
      );
    } finally {
      socket.close();
    }
  },
);
