import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Studio } from '../../main/core/studio.js';
import { inspectFile } from '../../main/core/dataset/inspect.js';
import { REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';
import { PLATE_NAMES, plate } from '../helpers/plates.js';

const [A, B, C, D, E, F] = PLATE_NAMES as [string, string, string, string, string, string];

let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let root: string;
let datasetId: number;

const rows = () => new Map(studio.datasets.listAllSources(datasetId).map((r) => [r.path, r]));
const counts = () => studio.datasets.countSources(datasetId);
const settled = async (what: string, check: () => boolean): Promise<void> => {
  await waitFor(check, 15_000, what);
};

before(async () => {
  tmp = tempDir('watch');
  root = join(tmp.dir, 'plates');
  mkdirSync(root);
  for (const f of [A, B, C]) copyFileSync(plate(f), join(root, f));
  studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    settleMs: 150,
  });
  const summary = await studio.openDataset({ folder: root, resolution: 64, crop: 'centre' });
  datasetId = summary.id;
  await settled('first pass', () => studio.ingestor(datasetId)?.progress.phase === 'watching');
  assert.equal(counts().accepted, 3);
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

test('a file added while watching is ingested without re-processing the others', async () => {
  const before = rows();
  copyFileSync(plate(D), join(root, 'new plate.jpg'));
  await settled('added file accepted', () => rows().get('new plate.jpg')?.status === 'accepted');
  const now = rows();
  for (const f of [A, B, C]) assert.equal(now.get(f)!.updated_at, before.get(f)!.updated_at, `${f} untouched`);
  assert.equal(counts().accepted, 4);
});

test('a changed file is decoded again into the same cache slot', async () => {
  const old = rows().get(A)!;
  const oldPixels = await studio.ingestor(datasetId)!.cache.readSlot(old.slot!);
  copyFileSync(plate(E), join(root, A));
  await settled(
    'changed file re-hashed',
    () => rows().get(A)!.hash !== old.hash && rows().get(A)!.status === 'accepted',
  );
  const now = rows().get(A)!;
  assert.equal(now.slot, old.slot);
  assert.notDeepEqual(await studio.ingestor(datasetId)!.cache.readSlot(now.slot!), oldPixels);
});

test('a renamed file is followed; a deleted one is dropped and frees its slot', async () => {
  renameSync(join(root, B), join(root, 'renamed.jpg'));
  await settled('rename seen', () => !rows().has(B) && rows().get('renamed.jpg')?.status === 'accepted');
  assert.equal(counts().accepted, 4);
  const freed = rows().get(C)!.slot;
  rmSync(join(root, C));
  await settled('delete seen', () => !rows().has(C));
  assert.equal(counts().accepted, 3);
  assert.ok(!studio.datasets.usedSlots(datasetId).includes(freed!), 'slot released');
});

test('a rejected file that is fixed on disk is picked up again', async () => {
  writeFileSync(join(root, 'fixme.jpg'), 'not yet a picture');
  await settled('rejected', () => rows().get('fixme.jpg')?.status === 'rejected');
  assert.equal(rows().get('fixme.jpg')!.reason, 'not an image (the file holds text)');
  copyFileSync(plate(F), join(root, 'fixme.jpg'));
  await settled('fixed file accepted', () => rows().get('fixme.jpg')?.status === 'accepted');
});

test('when the kept twin is deleted, its duplicate takes its place', async () => {
  copyFileSync(join(root, 'new plate.jpg'), join(root, 'twin.jpg'));
  await settled('twin is a duplicate', () => rows().get('twin.jpg')?.status === 'duplicate');
  assert.equal(rows().get('twin.jpg')!.duplicate_of, 'new plate.jpg');
  rmSync(join(root, 'new plate.jpg'));
  await settled('twin promoted', () => rows().get('twin.jpg')?.status === 'accepted' && !rows().has('new plate.jpg'));
  assert.equal(counts().duplicates, 0);
});

test('progress events report done/total and end in the watching phase', async () => {
  const seen: string[] = [];
  const listener = (p: { phase: string; done: number; total: number }): void => {
    seen.push(`${p.phase}:${p.done}/${p.total}`);
  };
  studio.on('ingestProgress', listener);
  copyFileSync(plate(C), join(root, 'again.jpg'));
  // Waits for this file's pass: a late 'watching' event from the previous test's pass may come first.
  const counted = (): boolean => seen.some((s) => s === 'ingesting:1/1' || s === 'watching:1/1');
  await settled('progress for the new file, back to watching', () => counted() && seen.at(-1)!.startsWith('watching'));
  studio.off('ingestProgress', listener);
  assert.ok(counted(), seen.join(' '));
  for (const s of seen) {
    const [done, total] = s.split(':')[1]!.split('/').map(Number);
    assert.ok(done! <= total!, `done over total in ${s}`);
  }
});

test('a file deleted before it is read is simply dropped', async () => {
  const seen = await inspectFile(root, root, 'never-existed.jpg');
  assert.deepEqual(seen, { kind: 'gone' });
});
