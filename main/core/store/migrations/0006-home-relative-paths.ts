import { checkpointPlace, toStored } from '../../home-layout.js';
import type { Db, Migration } from '../db.js';

/**
 * Paths inside the home become relative to it, so a home can be copied, moved or restored (see
 * docs/DECISIONS.md, "A home is a folder you can copy"). Until now the database kept them absolute,
 * so a copy read, and its retention deleted, the original's checkpoints.
 *
 * The home is the database's folder now, which is not always where the paths were written:
 * - a checkpoint is a file of this database's run, so its place is this home's
 *   `checkpoints/run-N/NAME`, whatever home the absolute path names (the original of a copy, the
 *   old place of a moved home). If the file is not there, it is missing here; never the other's.
 * - a favourite's generator or a fine-tune's `init_from` spelled exactly as one of this database's
 *   checkpoints follows it; otherwise it is the user's file: inside this home it becomes relative,
 *   outside it stays absolute (and is only ever read, never deleted).
 * - 'the file is missing' was kept as a damaged mark, for good: it is a finding of the moment, and
 *   is now made afresh each time (a moved home had every checkpoint marked). A run that could not
 *   resume only because its checkpoints were missing can resume again.
 */
export const migration0006: Migration = {
  version: 6,
  name: 'paths relative to the home; missing is not damaged',
  up: (db, home) => {
    if (home !== null) relativePaths(db, home);
    db.exec(`UPDATE checkpoints SET damaged = NULL WHERE damaged = '${OLD_MISSING}'`);
    const stuck = db
      .prepare<[], { id: number; cannot_resume: string }>(
        `SELECT id, cannot_resume FROM runs WHERE cannot_resume LIKE 'no intact checkpoint to resume from (%'`,
      )
      .all();
    const clear = db.prepare<[number]>('UPDATE runs SET cannot_resume = NULL WHERE id = ?');
    for (const r of stuck) if (onlyMissing(r.cannot_resume)) clear.run(r.id);
  },
};

const OLD_MISSING = 'the file is missing';

/** `no intact checkpoint to resume from (0.016 kimg: the file is missing; 0.008 kimg: …)`, every one missing. */
function onlyMissing(reason: string): boolean {
  const list = reason.slice('no intact checkpoint to resume from ('.length, -1);
  return list.split('; ').every((item) => item.endsWith(`kimg: ${OLD_MISSING}`));
}

function relativePaths(db: Db, home: string): void {
  const moved = new Map<string, string>(); // old absolute checkpoint path → stored one
  const checkpoints = db.prepare<[], { id: number; run_id: number; path: string }>(
    'SELECT id, run_id, path FROM checkpoints',
  );
  const setPath = db.prepare<[string, number]>('UPDATE checkpoints SET path = ? WHERE id = ?');
  for (const c of checkpoints.all()) {
    const place = checkpointPlace(c.path);
    const stored = place?.runId === c.run_id ? place.place : toStored(home, c.path);
    moved.set(c.path, stored);
    if (stored !== c.path) setPath.run(stored, c.id);
  }
  // A user's file: one of this database's checkpoints when it is spelled as one (the favourite was
  // drawn from it), else relative only when inside the home. A file in another home at the same
  // place (run-1 has a step-4 checkpoint in many homes) is that home's, not ours.
  const storedFile = (path: string): string => moved.get(path) ?? toStored(home, path);
  const favourites = db.prepare<[], { id: number; generator_path: string }>(
    'SELECT id, generator_path FROM favourites',
  );
  const setGenerator = db.prepare<[string, number]>('UPDATE favourites SET generator_path = ? WHERE id = ?');
  for (const f of favourites.all()) {
    const stored = storedFile(f.generator_path);
    if (stored !== f.generator_path) setGenerator.run(stored, f.id);
  }
  const runs = db.prepare<[], { id: number; init_from: string }>(
    'SELECT id, init_from FROM runs WHERE init_from IS NOT NULL',
  );
  const setInit = db.prepare<[string, number]>('UPDATE runs SET init_from = ? WHERE id = ?');
  for (const r of runs.all()) {
    const stored = storedFile(r.init_from);
    if (stored !== r.init_from) setInit.run(stored, r.id);
  }
}
