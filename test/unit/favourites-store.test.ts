import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { migrate, openDatabase } from '../../main/core/store/db.js';
import { MIGRATIONS } from '../../main/core/store/migrations/index.js';
import { FavouriteStore, type NewFavourite } from '../../main/core/store/favourites.js';
import { RunStore } from '../../main/core/store/runs.js';

const SEED_ROWS = `
  INSERT INTO datasets (id, folder, resolution, crop, paper, created_at, opened_at) VALUES (1, '/p', 64, 'centre', '#fff', 0, 0);
  INSERT INTO runs (id, dataset_id, name, preset, config, seed, sample_seeds, target_kimg, snapshot_kimg,
    checkpoint_kimg, state, created_at, updated_at) VALUES (1, 1, 'a', 'tiny', '{}', 1, '[]', 1, 1, 1, 'paused', 0, 0);
  INSERT INTO checkpoints (id, run_id, kimg, step, path, sha256, bytes, at) VALUES (7, 1, 0.1, 10, '/c/7', 'x', 1, 0);
  INSERT INTO checkpoints (id, run_id, kimg, step, path, sha256, bytes, at) VALUES (8, 1, 0.2, 20, '/c/8', 'x', 1, 0);
`;

const fav = (over: Partial<NewFavourite> = {}): NewFavourite => ({
  run_id: 1,
  checkpoint_id: 7,
  generator_path: '/c/7',
  seed: 42,
  psi: 0.7,
  noise_mode: 'const',
  mix_seed: null,
  mix_layers: null,
  name: 'Avis fictitia',
  kimg: 0.1,
  ...over,
});

test('migration 4 from empty: the favourites table with restricting foreign keys', () => {
  const db = openDatabase(':memory:');
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  const fks = db.pragma('foreign_key_list(favourites)') as { table: string; from: string; on_delete: string }[];
  assert.deepEqual(fks.map((f) => [f.table, f.from, f.on_delete]).sort(), [
    ['checkpoints', 'checkpoint_id', 'RESTRICT'],
    ['runs', 'run_id', 'RESTRICT'],
  ]);
  db.close();
});

test('migration 4 on a version-3 database keeps everything and protects checkpoints from then on', () => {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS.slice(0, 3));
  db.exec(SEED_ROWS);
  migrate(db, MIGRATIONS);
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  const runs = new RunStore(db, '/plumage-home');
  assert.equal(runs.listCheckpoints(1).length, 2, 'existing rows survive');
  const favs = new FavouriteStore(db, '/plumage-home');
  favs.add(fav());
  assert.equal(runs.deleteCheckpoint(7), false, 'a checkpoint a favourite points to is refused, not deleted');
  assert.ok(runs.getCheckpoint(7));
  assert.equal(runs.deleteCheckpoint(8), true, 'one no favourite points to goes');
  assert.throws(() => runs.deleteRun(1), /FOREIGN KEY constraint failed/, 'a run with favourites is not cascaded away');
  assert.equal(favs.removeForRun(1), 1);
  runs.deleteRun(1);
  assert.equal(runs.getRun(1), undefined, 'once its favourites are removed, the run goes');
  db.close();
});

test('favourites: add, get, update, remove; the table refuses rows that could not regenerate', () => {
  const db = openDatabase(':memory:');
  db.exec(SEED_ROWS);
  const favs = new FavouriteStore(db, '/plumage-home');
  const a = favs.add(fav({ note: 'a fine crest' }));
  assert.equal(a.seed, 42);
  assert.equal(a.note, 'a fine crest');
  assert.ok(a.created_at > 0);
  assert.deepEqual(favs.get(a.id), a);
  const b = favs.add(fav({ run_id: null, checkpoint_id: null, generator_path: '/x/ffhq.safetensors', kimg: null }));
  assert.equal(favs.get(b.id)!.note, '', 'a loose-file favourite with no note');
  const renamed = favs.update(a.id, { name: 'Pica mirabilis' });
  assert.equal(renamed!.name, 'Pica mirabilis');
  assert.equal(renamed!.note, 'a fine crest', 'a field left out keeps its value');
  assert.equal(favs.update(9999, { name: 'x' }), undefined);
  assert.throws(() => favs.add(fav({ psi: 1.5 })), /CHECK constraint failed/);
  assert.throws(() => favs.add(fav({ seed: -1 })), /CHECK constraint failed/);
  assert.throws(() => favs.add(fav({ mix_seed: 3, mix_layers: null })), /CHECK constraint failed/, 'a mix needs both');
  assert.throws(() => favs.add(fav({ mix_seed: 3, mix_layers: 'coarse' })), /CHECK constraint failed/);
  assert.throws(() => favs.add(fav({ name: '' })), /CHECK constraint failed/);
  assert.throws(() => favs.add(fav({ checkpoint_id: 99 })), /FOREIGN KEY constraint failed/);
  assert.throws(() => favs.add(fav({ noise_mode: 'none' as 'const' })), /CHECK constraint failed/);
  assert.equal(favs.remove(a.id), true);
  assert.equal(favs.remove(a.id), false);
  assert.equal(favs.get(a.id), undefined);
  db.close();
});

test('favourites: list filters by text and run and sorts each way, ties in id order', () => {
  const db = openDatabase(':memory:');
  db.exec(SEED_ROWS);
  const favs = new FavouriteStore(db, '/plumage-home');
  const ids = [
    favs.add(fav({ name: 'Corvus umbrosus', seed: 5, kimg: 0.1 })).id,
    favs.add(fav({ name: 'avis alba', seed: 1, checkpoint_id: 8, kimg: 0.2, note: 'for Grandma, 100%_sure' })).id,
    favs.add(fav({ name: 'Bubo nocturnus', seed: 9, run_id: null, checkpoint_id: null, kimg: null })).id,
  ];
  const names = (rows: { name: string }[]) => rows.map((r) => r.name);
  assert.deepEqual(
    favs.list().map((r) => r.id),
    ids,
  );
  assert.deepEqual(names(favs.list({ sort: 'name' })), ['avis alba', 'Bubo nocturnus', 'Corvus umbrosus']);
  assert.deepEqual(names(favs.list({ sort: 'seed', descending: true })), [
    'Bubo nocturnus',
    'Corvus umbrosus',
    'avis alba',
  ]);
  assert.deepEqual(names(favs.list({ sort: 'kimg', descending: true })), [
    'avis alba',
    'Corvus umbrosus',
    'Bubo nocturnus',
  ]);
  assert.deepEqual(names(favs.list({ text: 'CORVUS' })), ['Corvus umbrosus']);
  assert.deepEqual(names(favs.list({ text: 'grandma' })), ['avis alba'], 'the note is searched too');
  assert.deepEqual(names(favs.list({ text: '%_' })), ['avis alba'], 'wildcards are plain text');
  assert.deepEqual(names(favs.list({ text: '_' })), ['avis alba']);
  assert.deepEqual(names(favs.list({ runId: 1, sort: 'name' })), ['avis alba', 'Corvus umbrosus']);
  assert.deepEqual(names(favs.forRun(1)), ['Corvus umbrosus', 'avis alba']);
  db.close();
});
