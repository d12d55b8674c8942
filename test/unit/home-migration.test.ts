import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../main/core/store/db.js';
import { MIGRATIONS } from '../../main/core/store/migrations/index.js';
import { FavouriteStore } from '../../main/core/store/favourites.js';
import { RunStore } from '../../main/core/store/runs.js';
import { tempDir } from '../helpers/paths.js';

let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('home-migration');
});
after(() => tmp.cleanup());

/**
 * A schema-5 database (every path absolute) in `home`, copied there from the home `/old/H`: run 1
 * has checkpoints in this home, in the old one (its file copied here too, or not), and in no
 * layout at all; favourites and fine-tunes name files here, in the old home, and elsewhere.
 */
function schema5Home(): string {
  const home = join(tmp.dir, 'X');
  mkdirSync(join(home, 'checkpoints', 'run-1'), { recursive: true });
  writeFileSync(join(home, 'checkpoints', 'run-1', 'ckpt-b.safetensors'), 'b'); // copied along
  const db = openDatabase(join(home, 'plumage.db'), MIGRATIONS.slice(0, 5));
  const run = (id: number, initFrom: string | null, cannotResume: string | null): void => {
    db.prepare(
      `INSERT INTO runs (id, dataset_id, name, preset, config, seed, sample_seeds, target_kimg, snapshot_kimg,
         checkpoint_kimg, state, created_at, updated_at, init_from, cannot_resume)
       VALUES (?, 1, 'r', 'tiny', '{}', 1, '[]', 1, 1, 1, 'crashed', 0, 0, ?, ?)`,
    ).run(id, initFrom, cannotResume);
  };
  const ckpt = (id: number, path: string, damaged: string | null = null): void => {
    db.prepare(
      `INSERT INTO checkpoints (id, run_id, kimg, step, path, sha256, bytes, at, damaged)
       VALUES (?, 1, ?, ?, ?, 'x', 1, 0, ?)`,
    ).run(id, id / 1000, id, path, damaged);
  };
  const favourite = (id: number, path: string, checkpointId: number | null): void => {
    db.prepare(
      `INSERT INTO favourites (id, run_id, checkpoint_id, generator_path, seed, psi, noise_mode, name, created_at)
       VALUES (?, ?, ?, ?, 1, 0.7, 'const', 'Avis', 0)`,
    ).run(id, checkpointId === null ? null : 1, checkpointId, path);
  };
  db.exec(
    "INSERT INTO datasets (id, folder, resolution, crop, paper, created_at, opened_at) VALUES (1, '/plates', 64, 'centre', '#fff', 0, 0)",
  );
  run(
    1,
    null,
    'no intact checkpoint to resume from (0.003 kimg: the file is missing; 0.002 kimg: the file is missing)',
  );
  run(2, '/elsewhere/gen.safetensors', 'no intact checkpoint to resume from (0.001 kimg: checksum mismatch)');
  run(3, join(home, 'checkpoints', 'run-1', 'ckpt-a.safetensors'), null);
  run(4, '/old/H/checkpoints/run-1/ckpt-b.safetensors', null);
  ckpt(1, join(home, 'checkpoints', 'run-1', 'ckpt-a.safetensors'), 'checksum mismatch');
  ckpt(2, '/old/H/checkpoints/run-1/ckpt-b.safetensors', 'the file is missing');
  ckpt(3, '/old/H/checkpoints/run-1/ckpt-c.safetensors', 'the file is missing');
  ckpt(4, '/somewhere/odd.safetensors');
  favourite(1, '/old/H/checkpoints/run-1/ckpt-b.safetensors', 2);
  favourite(2, join(home, 'mine.safetensors'), null);
  favourite(3, '/other/home/checkpoints/run-1/ckpt-b.safetensors', null);
  favourite(4, '/old/H/checkpoints/run-1/ckpt-c.safetensors', null);
  db.close();
  return home;
}

test('migration 6: paths inside the home become relative; a checkpoint of another home is looked for in this one', () => {
  const home = schema5Home();
  const db = openDatabase(join(home, 'plumage.db'));
  const column = <T>(sql: string): T[] =>
    db
      .prepare<[], { v: T }>(sql)
      .all()
      .map((r) => r.v);
  assert.deepEqual(column('SELECT path AS v FROM checkpoints ORDER BY id'), [
    'checkpoints/run-1/ckpt-a.safetensors', // was inside this home
    'checkpoints/run-1/ckpt-b.safetensors', // was in the old home; the copy is here
    'checkpoints/run-1/ckpt-c.safetensors', // was in the old home; not here, so missing here (never read there)
    '/somewhere/odd.safetensors', // in no home's layout: left as it was, and never deleted
  ]);
  assert.deepEqual(column('SELECT generator_path AS v FROM favourites ORDER BY id'), [
    'checkpoints/run-1/ckpt-b.safetensors', // drawn from checkpoint 2: follows it
    'mine.safetensors', // a user's file inside the home
    '/other/home/checkpoints/run-1/ckpt-b.safetensors', // a third home's file at the same place stays its
    'checkpoints/run-1/ckpt-c.safetensors', // opened by path, spelled as checkpoint 3: follows it
  ]);
  assert.deepEqual(column('SELECT init_from AS v FROM runs ORDER BY id'), [
    null,
    '/elsewhere/gen.safetensors',
    'checkpoints/run-1/ckpt-a.safetensors', // spelled as checkpoint 1: follows it
    'checkpoints/run-1/ckpt-b.safetensors', // spelled as checkpoint 2 (in the old home): follows it
  ]);
  assert.deepEqual(
    column('SELECT damaged AS v FROM checkpoints ORDER BY id'),
    ['checksum mismatch', null, null, null],
    'a missing file is no longer a mark for good; real damage stays',
  );
  assert.deepEqual(
    column('SELECT cannot_resume AS v FROM runs ORDER BY id'),
    [null, 'no intact checkpoint to resume from (0.001 kimg: checksum mismatch)', null, null],
    'a run stuck only because its files were missing can resume again',
  );

  // Read back through the stores: absolute, in this home.
  const runs = new RunStore(db, home);
  assert.equal(runs.getCheckpoint(2)!.path, join(home, 'checkpoints', 'run-1', 'ckpt-b.safetensors'));
  assert.equal(runs.getRun(3)!.init_from, join(home, 'checkpoints', 'run-1', 'ckpt-a.safetensors'));
  assert.equal(runs.checkpointAt(join(home, 'checkpoints', 'run-1', 'ckpt-b.safetensors'))!.id, 2);
  const favourites = new FavouriteStore(db, home);
  assert.equal(favourites.get(2)!.generator_path, join(home, 'mine.safetensors'));
  db.close();
});
