import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { handleRequest } from '../../main/core/api/handler.js';
import { interpolationName } from '../../main/core/gallery/interpolation-files.js';
import { Studio } from '../../main/core/studio.js';
import { utf8Length } from '../../main/core/util/text.js';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';

// Issue 16, item 4: what reached the user as a library's internals ("delay 0–65535",
// ENAMETOOLONG with a 750-byte path) is one sentence naming the field or file and what to do.

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let gen: string;
let ids: number[];
let out: string;

before(async () => {
  tmp = tempDir('readable-errors');
  gen = join(tmp.dir, 'g.safetensors');
  out = join(tmp.dir, 'out');
  mkdirSync(out);
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '8', '--out', gen]);
  studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    galleryInProcess: true,
  });
  ids = [];
  for (const seed of [1, 2])
    ids.push((await studio.addFavourite({ generator: { file: gen }, seed, psi: 0.7, noiseMode: 'const' })).id);
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

async function refusal(method: string, params: unknown): Promise<{ code: string; message: string }> {
  const reply = await handleRequest(studio, method, params);
  assert.equal(reply.ok, false, `${method} should be refused`);
  return (reply as { error: { code: string; message: string } }).error;
}

const walk = (over: Record<string, unknown>) => ({
  favouriteIds: ids,
  space: 'w',
  frames: 3,
  fps: 5,
  format: 'gif',
  outDir: out,
  ...over,
});

test('an fps too slow for a WebP or GIF frame is refused by its field, not by sharp', async () => {
  for (const format of ['gif', 'webp', 'png']) {
    const e = await refusal('interpolate', walk({ fps: 0.01, format }));
    assert.equal(e.code, 'invalid-input');
    assert.match(e.message, /fps: must be from 0\.016 to 60 \(a frame can stay at most 65 seconds\)/, format);
    assert.doesNotMatch(e.message, /65535|delay/);
  }
  const lapse = await refusal('exportTimelapse', { runId: 1, folder: out, format: 'gif', fps: 0.0152 });
  assert.match(lapse.message, /fps: must be from 0\.016 to 60/);
  // The core says the same to a caller that skips the schema.
  await assert.rejects(studio.interpolate(walk({ fps: 0.01 }) as never), /fps must be from 0\.016 to 60/);
  const cli = await run(process.execPath, [CLI, 'interpolate', '--favourites', '1,2', '--fps', '0.01']).catch(
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal((cli as { code: number }).code, 2);
  assert.match((cli as { stderr: string }).stderr, /--fps must be from 0\.016 to 60 .*\(got 0\.01\)/);
  // The slowest allowed is written, and plays at that speed.
  const r = await studio.interpolate(walk({ fps: 0.016, name: 'slow' }) as never);
  assert.equal(r.files.length, 1);
  assert.deepEqual(readdirSync(out), ['slow.gif']);
});

test('file names are measured in bytes: 200 CJK characters are refused with the reason, not ENAMETOOLONG', async () => {
  const long = '鳥'.repeat(200); // 200 UTF-16 units, 600 bytes
  const e = await refusal('interpolate', walk({ name: long }));
  assert.equal(e.code, 'invalid-input');
  assert.match(e.message, /name: the file name "鳥{40}…" is 600 bytes long; a file name can have at most 255 .*choose a shorter name/); // prettier-ignore
  assert.doesNotMatch(e.message, /ENAMETOOLONG/);
  const sheet = await refusal('exportContactSheet', {
    favourites: 'all',
    options: { paper: 'A5', orientation: 'portrait', tone: 'white' },
    folder: out,
    fileName: `${'鳥'.repeat(100)}.pdf`,
  });
  assert.match(sheet.message, /fileName: the file name .* is 304 bytes long/);
  // The limit is on the whole name as written: the name with its suffix.
  await assert.rejects(
    studio.interpolate(walk({ name: '鳥'.repeat(84) }) as never), // 252 bytes + ".gif"
    /the file name .* is 256 bytes long/,
  );
  const fits = await studio.interpolate(walk({ name: '鳥'.repeat(82), format: 'png' }) as never); // + "-0000.png": 255
  assert.equal(fits.files.length, 3);
  // A folder name in the path is measured too.
  const folder = join(tmp.dir, 'é'.repeat(150));
  const f = await refusal('interpolate', walk({ outDir: folder }));
  assert.match(
    f.message,
    /the folder name "é{40}…" in the export folder is 300 bytes long; a name can have at most 255/,
  );
  // Fewer frames than favourites is the request's mistake, said as one.
  const few = await refusal('interpolate', walk({ favouriteIds: [...ids, ids[0]], frames: 2 }));
  assert.equal(few.code, 'invalid-input');
  assert.match(few.message, /frames must be at least the number of favourites \(3\)/);
  // The name an interpolation of many favourites gets by default fits, however many there are.
  const many = Array.from({ length: 64 }, (_, i) => 1_000_000 + i);
  assert.ok(utf8Length(`${interpolationName(many, 'w')}-0000.png`) < 255);
});

// ENOSPC is exercised on a real tmpfs in export-folders.test.ts; a folder without write permission here.
const asRoot = process.getuid?.() === 0 ? 'root writes into a read-only folder anyway' : false;

test('a folder that cannot be written is said in words, with what to do', { skip: asRoot }, async () => {
  const ro = join(tmp.dir, 'ro');
  mkdirSync(ro, { mode: 0o555 });
  const e = await refusal('interpolate', walk({ outDir: ro }));
  assert.match(e.message, /could not write .*: permission denied \(EACCES\); nothing was written\. Choose a folder/);
});
