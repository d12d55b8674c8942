import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { renderSquare } from '../../main/core/dataset/process.js';
import { Studio } from '../../main/core/studio.js';
import { CLI, FIXTURES, REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';
import { PLATE_NAMES, plate, writePlates } from '../helpers/plates.js';

const open = (dir: string, afterDecode?: (rel: string) => void | Promise<void>): Studio =>
  Studio.open({
    home: join(dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    ...(afterDecode ? { afterDecode } : {}),
  });

test('every file gets exactly one outcome: new formats decoded, broken ones refused with a reason', async () => {
  const tmp = tempDir('outcomes');
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  const w = (name: string, data: Buffer | string): void => writeFileSync(join(folder, name), data);
  const jpeg = readFileSync(plate(PLATE_NAMES[0]!));
  w('good.jpg', jpeg);
  w('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 3))); // the subject crop used to throw on it
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  w('scan.ppm', Buffer.concat([Buffer.from(`P6\n${info.width} ${info.height}\n255\n`), data]));
  w('header-only.ppm', `P6\n${info.width} ${info.height}\n255\n`);
  w('page.jp2', readFileSync(join(FIXTURES, 'images', 'quad.jp2')));
  const j2k = Buffer.from(readFileSync(join(FIXTURES, 'images', 'quad.j2k')));
  j2k.fill(0x55, 60, 200);
  w('corrupt.j2k', j2k);
  w('small.bmp', readFileSync(join(FIXTURES, 'images', 'rgb24.bmp'))); // 32×24: too small, but read
  w('bird-museum.txt', 'BM is how we abbreviate the bird museum.\n'); // text: quietly ignored
  w('bird-museum.bmp', 'BM is how we abbreviate the bird museum.\n'); // text named like an image: said so
  const studio = open(tmp.dir);
  try {
    const report = await studio.ingestOnce(folder, 64, 'subject');
    const outcomes = [
      ...report.accepted.map((a) => [a.file, 'accepted']),
      ...report.rejected.map((r) => [r.file, r.reason]),
      ...report.duplicates.map((d) => [d.file, `duplicate of ${d.of}`]),
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    assert.deepEqual(Object.fromEntries(outcomes), {
      'bird-museum.bmp': 'not an image (the file holds text)',
      'corrupt.j2k': 'damaged JPEG 2000: Invalid value for numresolutions : 86, max value is set in openjpeg.h at 33',
      'good.jpg': 'accepted',
      'header-only.ppm': 'truncated PPM (the file is cut off)',
      'page.jp2': 'accepted',
      'scan.ppm': 'accepted',
      'small.bmp': '32×24 px is smaller than 64 px',
      'truncated.jpg': 'truncated JPEG',
    });
    assert.equal(outcomes.length, new Set(outcomes.map((o) => o[0])).size, 'one outcome per file');
  } finally {
    await studio.close();
    tmp.cleanup();
  }
});

test('a file saved again while it is being decoded is decoded again: the newer picture wins', async () => {
  const tmp = tempDir('resaved');
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  copyFileSync(plate(PLATE_NAMES[0]!), join(folder, 'plate.jpg'));
  const newer = readFileSync(plate(PLATE_NAMES[1]!));
  let decodes = 0;
  const studio = open(tmp.dir, (rel) => {
    if (rel !== 'plate.jpg' || decodes++ > 0) return;
    // The user saves an edit exactly while the old bytes are being decoded.
    writeFileSync(join(folder, 'plate.jpg'), newer);
    utimesSync(join(folder, 'plate.jpg'), new Date(), new Date(Date.now() + 5000));
  });
  try {
    await studio.ingestOnce(folder, 64, 'centre');
    assert.equal(decodes, 2, 'decoded twice');
    const id = studio.datasets.listDatasets().find((d) => d.folder === folder)!.id;
    const row = studio.datasets.getSource(id, 'plate.jpg')!;
    assert.equal(row.status, 'accepted');
    assert.equal(row.hash, createHash('sha256').update(newer).digest('hex'));
    const expected = await renderSquare(newer, { resolution: 64, crop: 'centre', paper: '#f5f1e6' });
    assert.ok(expected.ok);
    assert.ok((await studio.ingestor(id)!.cache.readSlot(row.slot!)).equals(expected.pixels), 'the cache holds it');
  } finally {
    await studio.close();
    tmp.cleanup();
  }
});

test('a folder deleted mid-ingest ends in the error phase with the reason; nothing ingested is forgotten', async () => {
  const tmp = tempDir('vanish');
  const folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  writePlates(folder, 6);
  let first: string | null = null;
  const studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    concurrency: 1,
    afterDecode: (rel) => {
      if (first !== null) return;
      first = rel;
      rmSync(folder, { recursive: true, force: true });
    },
  });
  const phases: { phase: string; error?: string }[] = [];
  studio.on('ingestProgress', (p) => phases.push(p));
  try {
    const { id } = await studio.openDataset({ folder, resolution: 64, crop: 'centre' });
    const end = await waitFor(() => phases.find((p) => p.phase === 'error' || p.phase === 'watching'), 15_000);
    assert.equal(end.phase, 'error');
    assert.match(end.error!, /plates disappeared during the ingest \(deleted, moved or unmounted\)/);
    assert.deepEqual(
      studio.datasets.listAllSources(id).map((r) => [r.path, r.status]),
      [[first, 'accepted']],
    );
  } finally {
    await studio.close();
    tmp.cleanup();
  }
});

test('CLI ingest: a folder deleted mid-way is an error (exit 1 and the reason), not a quiet success', async () => {
  const tmp = tempDir('vanish-cli');
  const folder = join(tmp.dir, 'plates');
  const home = join(tmp.dir, 'home');
  mkdirSync(folder);
  writePlates(folder, 240);
  const child = spawn(process.execPath, [CLI, 'ingest', folder, '--resolution', '64', '--home', home, '--json'], {
    env: { ...process.env, PLUMAGE_HOME: '' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor(
      () => {
        try {
          const db = new Database(join(home, 'plumage.db'), { readonly: true, fileMustExist: true });
          try {
            return (db.prepare('SELECT COUNT(*) AS n FROM sources').get() as { n: number }).n >= 3;
          } finally {
            db.close();
          }
        } catch {
          return false; // not created yet
        }
      },
      30_000,
      'a few plates ingested',
    );
    rmSync(folder, { recursive: true, force: true });
    assert.equal(await exited, 1, stderr);
    assert.match(stderr, /did not finish: the folder .*plates disappeared during the ingest/);
  } finally {
    child.kill();
    tmp.cleanup();
  }
});
