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

test('migration 11 on a version-9 database keeps every favourite as it was: a seed, no latent, no edit', () => {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS.slice(0, 9));
  db.exec(SEED_ROWS);
  db.exec(`INSERT INTO favourites (run_id, checkpoint_id, generator_path, seed, psi, noise_mode, mix_seed, mix_layers,
    name, note, kimg, created_at) VALUES (1, 7, 'checkpoints/run-1/x', 42, 0.7, 'const', 5, '4-8', 'Avis', 'n', 0.1, 9)`);
  migrate(db, MIGRATIONS);
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  const favs = new FavouriteStore(db, '/plumage-home');
  const [row] = favs.list();
  assert.deepEqual(
    { ...row, id: undefined },
    {
      id: undefined,
      run_id: 1,
      checkpoint_id: 7,
      generator_path: '/plumage-home/checkpoints/run-1/x',
      seed: 42,
      latent: null,
      psi: 0.7,
      noise_mode: 'const',
      mix_seed: 5,
      mix_layers: '4-8',
      edit_method: null,
      edit_layers: null,
      edit_direction: null,
      edit_amount: null,
      edit_vector: null,
      name: 'Avis',
      note: 'n',
      kimg: 0.1,
      created_at: 9,
    },
  );
  // The rebuilt table still protects its checkpoint and keeps its indexes.
  assert.equal(new RunStore(db, '/plumage-home').deleteCheckpoint(7), false);
  const indexes = (db.pragma('index_list(favourites)') as { name: string }[]).map((i) => i.name).sort();
  assert.deepEqual(indexes, [
    'favourites_checkpoint',
    'favourites_created',
    'favourites_edit_vector',
    'favourites_latent',
    'favourites_run',
  ]);
  db.close();
});

test('a favourite holds a seed or a latent (never both, never neither) and a whole edit or none', () => {
  const db = openDatabase(':memory:');
  db.exec(SEED_ROWS);
  const favs = new FavouriteStore(db, '/plumage-home');
  const latent = '/plumage-home/latents/0123abcd.json';
  const kept = favs.add(fav({ seed: null, latent, psi: 1 }));
  assert.equal(kept.seed, null);
  assert.equal(kept.latent, latent, 'read back absolute');
  const stored = db.prepare('SELECT latent FROM favourites WHERE id = ?').get(kept.id) as { latent: string };
  assert.equal(stored.latent, 'latents/0123abcd.json', 'stored relative to the home: a copied home finds it');
  assert.equal(favs.latentUsers(latent), 1);
  const edit = { edit_method: 'sefa', edit_layers: '4-8', edit_direction: 2, edit_amount: -1.5 } as const;
  const moved = favs.add(fav(edit));
  assert.deepEqual(
    [moved.edit_method, moved.edit_layers, moved.edit_direction, moved.edit_amount],
    ['sefa', '4-8', 2, -1.5],
  );
  assert.throws(() => favs.add(fav({ seed: 3, latent })), /CHECK constraint failed/, 'both a seed and a latent');
  assert.throws(() => favs.add(fav({ seed: null })), /CHECK constraint failed/, 'neither');
  assert.throws(() => favs.add(fav({ ...edit, edit_amount: null })), /CHECK constraint failed/, 'half an edit');
  assert.throws(() => favs.add(fav({ ...edit, edit_method: 'pca' as never })), /CHECK constraint failed/);
  assert.throws(() => favs.add(fav({ ...edit, edit_amount: 101 })), /CHECK constraint failed/);
  assert.throws(() => favs.add(fav({ seed: null, latent: '/elsewhere/l.json' })), /CHECK constraint failed/);
  db.close();
});

test('migration 12: an edit names its vector file, stored relative; never a vector without an edit, nor one outside edits/', () => {
  const db = openDatabase(':memory:');
  db.exec(SEED_ROWS);
  const favs = new FavouriteStore(db, '/plumage-home');
  const edit = { edit_method: 'ganspace', edit_layers: '4-8', edit_direction: 0, edit_amount: 2 } as const;
  const vector = '/plumage-home/edits/0123abcd.json';
  const kept = favs.add(fav({ ...edit, edit_vector: vector }));
  assert.equal(kept.edit_vector, vector, 'read back absolute');
  const stored = db.prepare('SELECT edit_vector FROM favourites WHERE id = ?').get(kept.id) as { edit_vector: string };
  assert.equal(stored.edit_vector, 'edits/0123abcd.json', 'stored relative to the home: a copied home finds it');
  favs.add(fav({ ...edit, edit_vector: vector }));
  assert.equal(favs.editVectorUsers(vector), 2, 'named by content: two favourites may share one');
  assert.equal(favs.add(fav(edit)).edit_vector, null, 'an edit may have none (kept before migration 12)');
  assert.throws(() => favs.add(fav({ edit_vector: vector })), /CHECK constraint failed/, 'a vector without an edit');
  assert.throws(
    () => favs.add(fav({ ...edit, edit_vector: '/elsewhere/v.json' })),
    /CHECK constraint failed/,
    'outside edits/',
  );
  db.close();
});
