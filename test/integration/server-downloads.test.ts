import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import type { ExportProgress, ExportStart, InterpolateResult } from '../../preload/contract.js';
import { MAX_BATCH_BYTES, MAX_BATCH_FILES } from '../../main/core/api/downloads.js';
import { NO_FILE_MANAGER, handleRequest } from '../../main/core/api/handler.js';
import { exportsDir } from '../../main/core/home-layout.js';
import { Studio } from '../../main/core/studio.js';
import { startServer, tokenCookieName, type RunningServer } from '../../main/server/server.js';
import { CLI, REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';
import { A5_PRINT } from '../helpers/prints.js';

// What `serve` hands a page on another machine: files under the home's exports/, with the token,
// as attachments of their own type, one by one or zipped, and nothing else.

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let home: string;
let exportsFolder: string;
let studio: Studio;
let server: RunningServer;
const events: ExportProgress[] = [];
const pdf = Buffer.from('%PDF-1.7\n% a print\n%%EOF\n');
const unicodeName = 'plate-002-ærø “bird”.png';
const unicodeBytes = Buffer.from('not really a png, but bytes to compare');

before(async () => {
  tmp = tempDir('server-downloads');
  home = join(tmp.dir, 'home');
  const generator = join(tmp.dir, 'g.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '3', '--out', generator]);
  studio = Studio.open({
    home,
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    galleryInProcess: true,
  });
  studio.on('exportProgress', (p) => events.push(p));
  const base = { run_id: null, checkpoint_id: null, generator_path: generator, psi: 0.7, kimg: null } as const;
  for (const [seed, name] of [
    [1, 'One'],
    [2, 'Two'],
  ] as const)
    studio.gallery.favourites.add({ ...base, seed, noise_mode: 'const', mix_seed: null, mix_layers: null, name });
  server = await startServer(studio, { port: 0, rendererDir: join(REPO_ROOT, 'dist', 'renderer') });

  // Files as exports leave them, and what must never be served from around them.
  exportsFolder = exportsDir(home);
  mkdirSync(join(exportsFolder, 'walk'), { recursive: true });
  writeFileSync(join(exportsFolder, 'plate-001-one.pdf'), pdf);
  writeFileSync(join(exportsFolder, unicodeName), unicodeBytes);
  writeFileSync(join(exportsFolder, 'walk', 'walk-0001.png'), Buffer.alloc(3 << 20, 7)); // a few chunks' worth
  writeFileSync(join(exportsFolder, '.plate-003.pdf.123.tmp'), 'half-written');
  writeFileSync(join(tmp.dir, 'secret.txt'), 'outside the home');
  mkdirSync(join(tmp.dir, 'elsewhere'));
  writeFileSync(join(tmp.dir, 'elsewhere', 'secret.txt'), 'outside the home');
  symlinkSync(join(tmp.dir, 'secret.txt'), join(exportsFolder, 'escape.pdf'));
  symlinkSync(join(tmp.dir, 'elsewhere'), join(exportsFolder, 'away'));
  symlinkSync(join(home, 'plumage.db'), join(exportsFolder, 'db.zip'));
});

after(async () => {
  await server.close();
  await studio.close();
  tmp.cleanup();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request to the server, the path sent exactly as given (no client-side normalising). */
function http(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; port?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: opts.port ?? server.port, path, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const withToken = (path: string): string => `${path}${path.includes('?') ? '&' : '?'}token=${server.token}`;
const cookie = (): Record<string, string> => ({ cookie: `${server.cookieName}=${server.token}` });
const origin = (): string => `http://127.0.0.1:${server.port}`;

function zipOf(keys: string[], headers: Record<string, string> = {}, name?: string): Promise<Reply> {
  return http('/exports.zip', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: origin(), ...cookie(), ...headers },
    body: JSON.stringify({ files: keys, ...(name !== undefined ? { name } : {}) }),
  });
}

test('an exported file downloads with the token, as an attachment of its own type; without it, nothing', async () => {
  assert.equal((await http('/exports/plate-001-one.pdf')).status, 401);
  assert.equal((await http('/exports/plate-001-one.pdf?token=wrong')).status, 401);
  assert.equal((await http('/exports/plate-001-one.pdf', { headers: { cookie: 'plumage_token=x' } })).status, 401);

  for (const how of [
    { path: withToken('/exports/plate-001-one.pdf'), headers: {} },
    { path: '/exports/plate-001-one.pdf', headers: cookie() },
    { path: '/exports/plate-001-one.pdf', headers: { authorization: `Bearer ${server.token}` } },
  ]) {
    const got = await http(how.path, { headers: how.headers });
    assert.equal(got.status, 200, how.path);
    assert.deepEqual(got.body, pdf, 'the bytes on disk');
    assert.equal(got.headers['content-type'], 'application/pdf');
    assert.equal(got.headers['content-length'], String(pdf.length));
    assert.equal(
      got.headers['content-disposition'],
      `attachment; filename="plate-001-one.pdf"; filename*=UTF-8''plate-001-one.pdf`,
    );
    assert.equal(got.headers['x-content-type-options'], 'nosniff');
    assert.equal(got.headers['cache-control'], 'no-store');
  }
  // A name in any script comes back whole (filename*), with an ASCII stand-in for old clients.
  const unicode = await http(withToken(`/exports/${encodeURIComponent(unicodeName)}`));
  assert.equal(unicode.status, 200);
  assert.deepEqual(unicode.body, unicodeBytes);
  assert.equal(unicode.headers['content-type'], 'image/png');
  assert.equal(
    unicode.headers['content-disposition'],
    `attachment; filename="plate-002-_r_ _bird_.png"; ` +
      `filename*=UTF-8''plate-002-%C3%A6r%C3%B8%20%E2%80%9Cbird%E2%80%9D.png`,
  );
  const nested = await http(withToken('/exports/walk/walk-0001.png'), { method: 'HEAD' });
  assert.equal(nested.status, 200);
  assert.equal(nested.headers['content-length'], String(3 << 20));
  assert.equal(nested.body.length, 0, 'HEAD: headers only');
});

test('nothing outside the home’s exports/ downloads: .., absolute paths, backslashes, temp files, links out, folders', async () => {
  const refused = [
    '/exports/..%2Fplumage.db',
    '/exports/%2E%2E%2Fplumage.db',
    '/exports/walk/..%2F..%2Fplumage.db',
    '/exports/%2F' + encodeURIComponent(join(tmp.dir, 'secret.txt').slice(1)),
    '/exports/..%5Cplumage.db',
    '/exports/walk%5C..%5C..%5Cplumage.db',
    '/exports/.plate-003.pdf.123.tmp',
    '/exports/escape.pdf', // a link to a file outside the home
    '/exports/away/secret.txt', // through a link to a folder outside
    '/exports/db.zip', // a link to the home's own database
    '/exports/walk', // a folder
    '/exports/',
    '/exports/walk//walk-0001.png',
    '/exports/nope.pdf',
    '/exports/C:%5Cwindows%5Cwin.ini',
  ];
  for (const path of refused) {
    const got = await http(withToken(path));
    assert.equal(got.status, 404, `${path}: ${got.body.toString().slice(0, 80)}`);
    assert.doesNotMatch(got.body.toString(), /outside the home|SQLite format/);
  }
  // `..` the client does not encode is resolved by the URL before routing: it never reaches exports/.
  for (const path of ['/exports/../plumage.db', '/exports/../../secret.txt', '/exports/./../server-token']) {
    const got = await http(withToken(path));
    assert.equal(got.status, 404, path);
    assert.doesNotMatch(got.body.toString(), /SQLite format|outside the home/);
    assert.doesNotMatch(got.body.toString(), new RegExp(server.token));
  }
});

test('a batch downloads as one streamed zip, each file under its key, bounded, and only for this server’s page', async () => {
  const keys = ['plate-001-one.pdf', unicodeName, 'walk/walk-0001.png'];
  const got = await zipOf([...keys, 'plate-001-one.pdf'], {}, 'my batch');
  assert.equal(got.status, 200, got.body.toString().slice(0, 200));
  assert.equal(got.headers['content-type'], 'application/zip');
  assert.equal(
    got.headers['content-disposition'],
    `attachment; filename="my batch.zip"; filename*=UTF-8''my%20batch.zip`,
  );
  const entries = unzipSync(new Uint8Array(got.body));
  assert.deepEqual(Object.keys(entries).sort(), [...keys].sort(), 'each file once, under its key');
  for (const key of keys)
    assert.deepEqual(Buffer.from(entries[key]!), readFileSync(join(exportsFolder, ...key.split('/'))), key);

  assert.equal((await zipOf(keys, { cookie: '' })).status, 401, 'no token');
  assert.equal((await zipOf(keys, { origin: 'http://evil.example' })).status, 403, 'another site’s page');
  assert.equal((await zipOf(keys, { origin: 'http://localhost:1' })).status, 403, 'another localhost page');
  const escape = await zipOf(['plate-001-one.pdf', '../plumage.db']);
  assert.equal(escape.status, 404);
  assert.match(escape.body.toString(), /no exported file "\.\.\/plumage\.db"/);
  assert.equal((await zipOf(['escape.pdf'])).status, 404, 'a link that leads out');
  assert.equal((await zipOf([])).status, 400);
  const notJson = await http('/exports.zip', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: origin(), ...cookie() },
    body: '{"files":["plate-001-one.pdf"]}',
  });
  assert.equal(notJson.status, 415);
  const many = Array.from({ length: MAX_BATCH_FILES + 1 }, (_, i) => `frame-${i}.png`);
  assert.equal((await zipOf(many)).status, 413, 'too many files');
  const huge = await http('/exports.zip', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: origin(), ...cookie() },
    body: Buffer.alloc(2 << 20, 32),
  });
  assert.equal(huge.status, 413, 'a request body over the bound is refused, not buffered');
  // Bytes: checked from the files' sizes before anything is read (a sparse file costs no disk).
  const big = join(exportsFolder, 'big.tif');
  writeFileSync(big, '');
  truncateSync(big, MAX_BATCH_BYTES + 1);
  try {
    const tooBig = await zipOf(['big.tif']);
    assert.equal(tooBig.status, 413);
    assert.match(tooBig.body.toString(), /download them one by one/);
  } finally {
    rmSync(big);
  }
  assert.equal((await http(withToken('/exports.zip'))).status, 404, 'a zip is asked for with POST');
});

test('each server’s token cookie has its own name: a second server’s cookie, or one that shadows it, shuts no page out', async () => {
  const other = Studio.open({
    home: join(tmp.dir, 'other-home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    galleryInProcess: true,
  });
  const second = await startServer(other, { port: 0, rendererDir: join(REPO_ROOT, 'dist', 'renderer') });
  try {
    assert.notEqual(second.cookieName, server.cookieName);
    assert.equal(second.cookieName, tokenCookieName(second.token));
    const both = `${second.cookieName}=${second.token}; ${server.cookieName}=${server.token}`;
    assert.equal((await http('/exports/plate-001-one.pdf', { headers: { cookie: both } })).status, 200);
    assert.equal(
      (await http('/exports/plate-001-one.pdf', { headers: { cookie: `${second.cookieName}=${second.token}` } }))
        .status,
      401,
      "the other server's cookie opens nothing here",
    );
    // A cookie of the same name set by another localhost page (sent first: a longer Path) is one candidate of several.
    const shadowed = `${server.cookieName}=bogus; ${server.cookieName}=%E0; ${server.cookieName}=${server.token}`;
    assert.equal((await http('/exports/plate-001-one.pdf', { headers: { cookie: shadowed } })).status, 200);
    assert.equal(
      (await http('/exports/plate-001-one.pdf', { headers: { cookie: `${server.cookieName}=bogus` } })).status,
      401,
    );
  } finally {
    await second.close();
    await other.close();
  }
});

test('a print exported into the home’s exports/ carries its download key and downloads byte for byte', async () => {
  const start = (await call('exportPrints', {
    favourites: [1],
    options: { ...A5_PRINT, upscaler: 'lanczos' },
    folder: exportsFolder,
  })) as ExportStart;
  assert.ok(start.job, JSON.stringify(start));
  assert.deepEqual(start.job.downloads, {});
  const end = await waitFor(
    () => events.find((e) => e.jobId === start.job!.jobId && e.state !== 'running'),
    120_000,
    'the print',
  );
  assert.equal(end.state, 'done', end.error ?? '');
  const path = join(exportsFolder, 'plate-001-one.png');
  assert.deepEqual(end.written, [path]);
  assert.deepEqual(end.downloads, { [path]: 'plate-001-one.png' });
  const got = await http(withToken(`/exports/${end.downloads[path]}`));
  assert.equal(got.status, 200);
  assert.equal(got.headers['content-type'], 'image/png');
  assert.deepEqual(got.body, readFileSync(path));

  // Written elsewhere: no key, nothing to download from a page.
  const out = join(tmp.dir, 'prints');
  mkdirSync(out);
  const elsewhere = (await call('exportPrints', {
    favourites: [2],
    options: { ...A5_PRINT, upscaler: 'lanczos' },
    folder: out,
  })) as ExportStart;
  const done = await waitFor(
    () => events.find((e) => e.jobId === elsewhere.job!.jobId && e.state !== 'running'),
    120_000,
    'the second print',
  );
  assert.deepEqual(done.written, [join(out, 'plate-002-two.png')]);
  assert.deepEqual(done.downloads, {});
});

test('an interpolation written into exports/ carries its frames’ keys, and they zip', async () => {
  const result = (await call('interpolate', {
    favouriteIds: [1, 2],
    space: 'w',
    frames: 3,
    fps: 6,
    format: 'png',
    name: 'walk-between',
  })) as InterpolateResult;
  assert.equal(result.files.length, 3);
  const keys = result.files.map((f) => result.downloads[f]);
  assert.deepEqual(keys, ['walk-between-0000.png', 'walk-between-0001.png', 'walk-between-0002.png']);
  const zip = await zipOf(keys as string[], {}, 'walk-between');
  assert.equal(zip.status, 200);
  const entries = unzipSync(new Uint8Array(zip.body));
  for (const [i, key] of keys.entries()) assert.deepEqual(Buffer.from(entries[key!]!), readFileSync(result.files[i]!));
});

test('revealFile: the core allows only files exports wrote; the shell shows them; the server has no file manager', async () => {
  const shown: string[] = [];
  const desktop = { revealFile: (path: string) => void shown.push(path) };
  const inExports = join(exportsFolder, 'plate-001-one.pdf');
  const written = join(tmp.dir, 'prints', 'plate-002-two.png'); // by an export of this session, outside the home
  assert.deepEqual(await handleRequest(studio, 'revealFile', { path: inExports }, desktop), {
    ok: true,
    result: inExports,
  });
  assert.equal((await handleRequest(studio, 'revealFile', { path: written }, desktop)).ok, true);
  assert.deepEqual(shown, [inExports, written]);
  for (const path of [
    join(home, 'plumage.db'),
    join(tmp.dir, 'secret.txt'),
    join(exportsFolder, 'escape.pdf'),
    join(exportsFolder, 'away', 'secret.txt'),
    '/etc/passwd',
  ]) {
    const reply = await handleRequest(studio, 'revealFile', { path }, desktop);
    assert.equal(reply.ok, false, path);
  }
  assert.equal(shown.length, 2, 'nothing else was shown');
  const missing = await handleRequest(studio, 'revealFile', { path: join(exportsFolder, 'gone.pdf') }, desktop);
  assert.deepEqual(missing.ok ? null : missing.error.code, 'not-found');
  const served = await handleRequest(studio, 'revealFile', { path: inExports });
  assert.deepEqual(served, { ok: false, error: { code: 'unsupported', message: NO_FILE_MANAGER } });
});

async function call(method: string, params: unknown): Promise<unknown> {
  const reply = await handleRequest(studio, method, params);
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.result;
}
