import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { migration0004 } from '../../main/core/store/migrations/0004-favourites.js';

/** Every entry under `root` (files by sha256, links by target, folders by name), keyed by its relative path. */
export function hashTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      const key = relative(root, path);
      if (e.isSymbolicLink()) out.set(key, `link → ${readlinkSync(path)}`);
      else if (e.isDirectory()) {
        out.set(key, 'folder');
        walk(path);
      } else out.set(key, createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

/** The tree under `root` is what `before` recorded, byte for byte: nothing added, changed or removed. */
export function assertSameTree(root: string, before: Map<string, string>, what: string): void {
  const now = hashTree(root);
  const changed = [...new Set([...before.keys(), ...now.keys()])].filter((k) => before.get(k) !== now.get(k));
  assert.deepEqual(changed, [], `${what} is byte-identical afterwards (changed: ${changed.join(', ')})`);
}

/**
 * Makes the database of `home` (a copy of `original`) look as an earlier Plumage (schema 5) wrote
 * it in place: every path inside the home absolute, spelled with `home`. Such a database is what
 * users have today, and what the issue copied and moved.
 */
export function asWrittenBySchema5(home: string, original: string): void {
  const db = new Database(join(home, 'plumage.db'));
  const abs = (col: string): string =>
    `CASE WHEN substr(${col}, 1, 1) <> '/' THEN @home || '/' || ${col}
          WHEN substr(${col}, 1, length(@original) + 1) = @original || '/' THEN @home || substr(${col}, length(@original) + 1)
          ELSE ${col} END`;
  const names = { home, original };
  db.prepare(`UPDATE checkpoints SET path = ${abs('path')}`).run(names);
  db.prepare(`UPDATE favourites SET generator_path = ${abs('generator_path')}`).run(names);
  db.prepare(`UPDATE runs SET init_from = ${abs('init_from')} WHERE init_from IS NOT NULL`).run(names);
  // What later migrations added, gone, so that reopening it runs them as on a user's home: why a run
  // paused (7), what a run started from (8), the G_ema files written with its grids (9, the files
  // too), checkpoint scores (10), favourites' latents and edits (11, 12: a favourites table of
  // schema 5's columns, as migration 11 finds it) and where a fork branched (13).
  db.exec(`ALTER TABLE runs DROP COLUMN branch_kimg;
    ALTER TABLE runs DROP COLUMN paused_by;
    ALTER TABLE runs DROP COLUMN paused_at;
    ALTER TABLE runs DROP COLUMN started_from;
    ALTER TABLE snapshots DROP COLUMN generator;
    DROP TABLE checkpoint_scores;
    ALTER TABLE runs DROP COLUMN kid_images;
    DROP INDEX favourites_run;
    DROP INDEX favourites_checkpoint;
    DROP INDEX favourites_created;
    DROP INDEX favourites_latent;
    ALTER TABLE favourites RENAME TO favourites_now;`);
  db.exec(migration0004.up as string); // the favourites table as schema 4 made it (seeds only)
  const columns = 'id, run_id, checkpoint_id, generator_path, seed, psi, noise_mode, mix_seed, mix_layers, name, note, kimg, created_at'; // prettier-ignore
  db.exec(`INSERT INTO favourites (${columns}) SELECT ${columns} FROM favourites_now; DROP TABLE favourites_now;`);
  db.pragma('user_version = 5');
  db.close();
  const checkpoints = join(home, 'checkpoints');
  for (const run of existsSync(checkpoints) ? readdirSync(checkpoints) : [])
    for (const f of readdirSync(join(checkpoints, run))) if (f.startsWith('gema-')) rmSync(join(checkpoints, run, f));
}
