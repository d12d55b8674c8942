import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { DatabaseTooNewError, migrate, openDatabase, type Migration } from '../../main/core/store/db.js';
import { MIGRATIONS } from '../../main/core/store/migrations/index.js';
import { DatasetStore } from '../../main/core/store/datasets.js';

test('every migration applies from empty and sets user_version', () => {
  const db = openDatabase(':memory:');
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
    name: string;
    sql: string;
  }[];
  assert.deepEqual(
    tables.map((t) => t.name),
    ['checkpoint_scores', 'checkpoints', 'datasets', 'favourites', 'runs', 'snapshots', 'sources', 'ticks'],
  );
  for (const t of tables) assert.match(t.sql, /\)\s*STRICT$/, `${t.name} is STRICT`);
  db.close();
});

test('migrating twice is a no-op', () => {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  db.close();
});

test('a failing migration rolls back whole, version unchanged', () => {
  const db = new Database(':memory:');
  const broken: Migration[] = [
    ...MIGRATIONS,
    {
      version: MIGRATIONS.length + 1,
      name: 'broken',
      up: 'CREATE TABLE x (a INTEGER) STRICT; INSERT INTO nope VALUES (1);',
    },
  ];
  assert.throws(() => migrate(db, broken), /no such table: nope/);
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'x'").get() as { n: number }).n, 0);
  db.close();
});

test('a database newer than the app is refused with a clear message', () => {
  const db = new Database(':memory:');
  db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
  assert.throws(
    () => migrate(db, MIGRATIONS, '/home/me/plumage.db'),
    (err: unknown) => {
      assert.ok(err instanceof DatabaseTooNewError);
      assert.match(err.message, /newer Plumage/);
      assert.match(err.message, /\/home\/me\/plumage\.db/);
      return true;
    },
  );
  db.close();
});

test('STRICT and CHECK constraints refuse bad rows', () => {
  const db = openDatabase(':memory:');
  assert.throws(
    () =>
      db
        .prepare(
          "INSERT INTO datasets (folder, resolution, crop, paper, created_at, opened_at) VALUES ('/x', 300, 'centre', '#fff', 0, 0)",
        )
        .run(),
    /CHECK constraint failed/,
  );
  assert.throws(
    () =>
      db
        .prepare(
          "INSERT INTO datasets (folder, resolution, crop, paper, created_at, opened_at) VALUES ('/x', 'big', 'centre', '#fff', 0, 0)",
        )
        .run(),
    /cannot store TEXT value in INTEGER column/,
  );
  db.close();
});

test('dataset and source queries round-trip, counts group by status', () => {
  const db = openDatabase(':memory:');
  const store = new DatasetStore(db);
  const ds = store.ensureDataset('/plates', 256, 'centre', '#f5f1e6');
  assert.equal(
    store.ensureDataset('/plates', 256, 'centre', '#f5f1e6').id,
    ds.id,
    'same folder × resolution × crop is the same dataset',
  );
  assert.notEqual(store.ensureDataset('/plates', 512, 'centre', '#f5f1e6').id, ds.id);
  const base = {
    dataset_id: ds.id,
    size: 1,
    mtime_ms: 1,
    reason: null,
    duplicate_of: null,
    width: 10,
    height: 10,
    thumb: null,
  };
  store.upsertSource({ ...base, path: 'a.jpg', hash: 'h1', status: 'accepted', slot: 0 });
  store.upsertSource({ ...base, path: 'b.jpg', hash: 'h1', status: 'duplicate', slot: null, duplicate_of: 'a.jpg' });
  store.upsertSource({
    ...base,
    path: 'c.txt.jpg',
    hash: 'h2',
    status: 'rejected',
    slot: null,
    reason: 'not an image',
  });
  assert.deepEqual(store.countSources(ds.id), { accepted: 1, rejected: 1, duplicates: 1 });
  assert.equal(store.findAcceptedByHash(ds.id, 'h1')?.path, 'a.jpg');
  assert.deepEqual(
    store.listDuplicatesOf(ds.id, 'a.jpg').map((r) => r.path),
    ['b.jpg'],
  );
  assert.deepEqual(store.usedSlots(ds.id), [0]);
  const page = store.pageSources(ds.id, 'rejected', 0, 10);
  assert.equal(page.total, 1);
  assert.equal(page.items[0]!.reason, 'not an image');
  assert.throws(
    () => store.upsertSource({ ...base, path: 'd.jpg', hash: 'h3', status: 'accepted', slot: 0 }),
    /UNIQUE constraint failed/,
  );
  db.close();
});

test('hot queries use their indexes', () => {
  const db = openDatabase(':memory:');
  const plan = (sql: string): string =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(1, 'x') as { detail: string }[]).map((r) => r.detail).join(' | ');
  assert.match(
    plan("SELECT * FROM sources WHERE dataset_id = ? AND hash = ? AND status = 'accepted'"),
    /USING INDEX sources_dataset_hash/,
  );
  assert.match(
    plan('SELECT * FROM sources WHERE dataset_id = ? AND status = ? ORDER BY path LIMIT 10'),
    /USING INDEX sources_dataset_status_path/,
  );
  assert.doesNotMatch(
    plan('SELECT * FROM sources WHERE dataset_id = ? AND status = ? ORDER BY path LIMIT 10'),
    /TEMP B-TREE/,
  );
  db.close();
});
