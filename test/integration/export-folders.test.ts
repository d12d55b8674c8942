import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { ExportProgress, ExportStart } from '../../preload/contract.js';
import { handleRequest } from '../../main/core/api/handler.js';
import { RunStore } from '../../main/core/store/runs.js';
import { Studio } from '../../main/core/studio.js';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';
import { cannotMount, mountSmallDisk } from '../helpers/small-disk.js';
import { A5_PRINT } from '../helpers/prints.js';
import { newRunRow } from '../helpers/runs.js';

// Issue 16, item 3: every export writes only where it was asked to, by one rule (export/folder.ts),
// and a failed one leaves nothing behind. Through the request handler, as the app and the server
// send requests; the CLI as a user types it.

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let home: string;
let gen: string;
let studio: Studio;
let ids: number[];
let mixId: number;

before(async () => {
  tmp = tempDir('export-folders');
  home = join(tmp.dir, 'home');
  gen = join(tmp.dir, 'g.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '4', '--out', gen]);
  studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false, galleryInProcess: true }); // prettier-ignore
  ids = [];
  for (const seed of [1, 2])
    ids.push((await studio.addFavourite({ generator: { file: gen }, seed, psi: 0.7, noiseMode: 'const' })).id);
  const mix = {
    generator: { file: gen },
    seed: 3,
    psi: 0.7,
    noiseMode: 'const',
    mixSeed: 9,
    mixLayers: '4-8',
  } as const;
  mixId = (await studio.addFavourite(mix)).id;
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

async function call(method: string, params: unknown): Promise<unknown> {
  const reply = await handleRequest(studio, method, params);
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.result;
}

const gif = (outDir: string, frames = 3) => ({ favouriteIds: ids, space: 'w', frames, fps: 5, format: 'gif', outDir });
const sheet = { paper: 'A5', orientation: 'portrait', tone: 'white' } as const;

/** Files anywhere under `dir` whose names an export would give. */
function exportsUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) =>
    /interpolation-|contact-sheet|plate-\d|timelapse|\.zip$/.test(f),
  );
}

test('every export refuses a relative folder, a system folder and the home’s own folders, and makes none', async () => {
  mkdirSync(join(home, 'checkpoints'), { recursive: true });
  symlinkSync(join(home, 'checkpoints'), join(tmp.dir, 'a-link'));
  const etc = `/etc/plumage-test-${process.pid}`;
  const refused: [string, RegExp][] = [
    ['rel-out', /the export folder must be an absolute path, got "rel-out"/],
    [join(home, 'checkpoints', 'x'), /is inside the Plumage home .*: export into .*exports or a folder outside/],
    [join(home, 'gallery'), /is inside the Plumage home/],
    [home, /is inside the Plumage home/],
    [join(tmp.dir, 'a-link', 'deep'), /is inside the Plumage home/], // a link is no way round
    [etc, /is inside the system folder \/etc: choose a folder of your own/],
    ['/usr/local/share/plumage-x', /system folder \/usr/],
    ['/proc/self/plumage', /system folder \/proc/],
    ['/', /the root of the filesystem/],
    [`/plumage-new-${process.pid}/deep`, /would be made in the root of the filesystem/], // root may, nobody should
  ];
  for (const [folder, why] of refused) {
    const requests: [string, unknown][] = [
      ['interpolate', gif(folder)],
      ['exportContactSheet', { favourites: 'all', options: sheet, folder }],
      ['exportPrints', { favourites: 'all', options: A5_PRINT, folder }],
      ['exportDataset', { datasetId: 1, folder }],
      ['exportTimelapse', { runId: 1, folder, format: 'gif', fps: 5 }],
    ];
    for (const [method, params] of requests)
      await assert.rejects(call(method, params), (err: Error & { code: string }) => {
        assert.match(err.message, why, `${method} into ${folder}`);
        assert.equal(err.code, 'invalid-input');
        return true;
      });
  }
  assert.equal(existsSync(resolve('rel-out')), false, 'nothing in the server’s working folder');
  assert.equal(existsSync(join(home, 'checkpoints', 'x')), false);
  assert.equal(existsSync(etc), false);
  assert.equal(existsSync(`/plumage-new-${process.pid}`), false);
  assert.deepEqual(exportsUnder(home), [], 'nothing written in the home');
});

test('a folder that does not exist yet is made (the home’s exports/ too); a failed export leaves none', async () => {
  const deep = join(tmp.dir, 'new', 'deep');
  const r = (await call('interpolate', gif(deep))) as { files: string[] };
  assert.deepEqual(r.files, [join(deep, `interpolation-${ids.join('-')}-w.gif`)]);
  assert.equal((await sharp(r.files[0]!).metadata()).pages, 3);

  const inExports = join(home, 'exports', 'walks');
  const r2 = (await call('interpolate', { ...gif(inExports), format: 'png', name: 'walk' })) as { files: string[] };
  assert.deepEqual(readdirSync(inExports), ['walk-0000.png', 'walk-0001.png', 'walk-0002.png']);
  assert.equal(r2.files.length, 3);

  // Refused once drawing began (a style-mixed bird has no z): the folder made for it goes again.
  const never = join(tmp.dir, 'never', 'made');
  await assert.rejects(
    call('interpolate', { ...gif(never), favouriteIds: [ids[0], mixId], space: 'z' }),
    /style-mixed bird has no single z/,
  );
  assert.equal(existsSync(join(tmp.dir, 'never')), false, 'the folders made for it are gone');

  const sheets = join(tmp.dir, 'sheets', 'a');
  const start = (await call('exportContactSheet', { favourites: ids, options: sheet, folder: sheets })) as ExportStart;
  const end = await studio.exports.whenDone(start.job!.jobId);
  assert.equal(end.state, 'done', end.error ?? '');
  assert.deepEqual(readdirSync(sheets), ['contact-sheet.pdf']);

  // A file where a folder should be is said plainly.
  writeFileSync(join(tmp.dir, 'a-file'), 'x');
  await assert.rejects(call('interpolate', gif(join(tmp.dir, 'a-file', 'sub'))), /a-file is a file, so the folder/);
});

test('a PNG sequence whose frame 2 exists writes nothing and names the file in the way', async () => {
  const folder = join(tmp.dir, 'seq');
  mkdirSync(folder);
  writeFileSync(join(folder, 'walk-0002.png'), 'mine');
  await assert.rejects(
    call('interpolate', { ...gif(folder, 5), format: 'png', name: 'walk' }),
    /walk-0002\.png already exists: choose another name or folder \(nothing was written\)/,
  );
  assert.deepEqual(readdirSync(folder), ['walk-0002.png'], 'frames 0 and 1 were not written first');
});

test(
  'a disk that fills mid-sequence leaves no frames behind, and says so in words',
  { skip: cannotMount() },
  async () => {
    const disk = join(tmp.dir, 'small-disk');
    const small = mountSmallDisk(disk, '64k'); // about 15 small files
    try {
      const frames = join(disk, 'frames');
      await assert.rejects(
        call('interpolate', { ...gif(frames, 48), format: 'png', name: 'walk' }),
        /could not write walk-00\d\d\.png into .*frames: the disk is full \(ENOSPC\); nothing was written\. Free some space/,
      );
      assert.deepEqual(readdirSync(disk), [], 'no frames, no staging folder, not even the folder made for them');

      // A time-lapse's PNG sequence, through the export job, the same way.
      const ds = studio.datasets.ensureDataset(join(tmp.dir, 'plates'), 64, 'centre', '#ffffff');
      const runId = new RunStore(studio.db, home).createRun(newRunRow(ds.id, { name: 'Lapse' })).id;
      const grids = join(home, 'samples', `run-${runId}`);
      mkdirSync(grids, { recursive: true });
      for (let step = 1; step <= 40; step++) {
        const noise = Buffer.from(Array.from({ length: 72 * 32 * 3 }, (_, i) => (i * 7919 * step) % 251));
        const name = `grid-${String(step).padStart(8, '0')}.png`;
        await sharp(noise, { raw: { width: 72, height: 32, channels: 3 } })
          .png()
          .toFile(join(grids, name));
        new RunStore(studio.db, home).insertSnapshot(runId, step / 1000, step, `samples/run-${runId}/${name}`);
      }
      const lapse = join(disk, 'lapse');
      const start = (await call('exportTimelapse', { runId, folder: lapse, format: 'png', fps: 5 })) as ExportStart;
      const end: ExportProgress = await studio.exports.whenDone(start.job!.jobId);
      assert.equal(end.state, 'failed');
      assert.match(end.error ?? '', /could not write .*: the disk is full \(ENOSPC\); nothing was written/);
      assert.deepEqual(end.written, []);
      assert.deepEqual(readdirSync(disk), []);
    } finally {
      small.unmount();
    }
  },
);

test('CLI: a relative --out is the user’s folder, made if missing, as in the README’s `--out prints/`', async () => {
  const h = join(tmp.dir, 'cli-home');
  for (const seed of ['5', '6'])
    await run(process.execPath, [CLI, 'favourite', 'add', '--checkpoint', gen, '--seed', seed, '--home', h]);
  const cwd = join(tmp.dir, 'user');
  mkdirSync(cwd);
  const sheet = await run(process.execPath, [CLI, 'export', '--favourites', 'all', '--contact-sheet', '--out', 'prints/', '--home', h], { cwd }); // prettier-ignore
  assert.match(sheet.stdout, /wrote .*user\/prints\/contact-sheet\.pdf/);
  await run(process.execPath, [CLI, 'interpolate', '--favourites', '1,2', '--frames', '3', '--out', 'anim', '--home', h], { cwd }); // prettier-ignore
  assert.deepEqual(readdirSync(cwd).sort(), ['anim', 'prints']);
  assert.deepEqual(readdirSync(join(cwd, 'anim')), ['interpolation-1-2-w.webp']);
  // --out into the home's own folders is refused, with the way out.
  await assert.rejects(
    run(process.execPath, [CLI, 'generate', '--checkpoint', gen, '--seeds', '1', '--out', join(h, 'gallery'), '--home', h]), // prettier-ignore
    /inside the Plumage home .*export into .*exports/,
  );
  assert.equal(existsSync(join(h, 'gallery', 'seed0001.png')), false);
});
