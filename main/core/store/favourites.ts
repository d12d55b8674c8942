import type { DirectionMethod, FavouriteSort, GalleryNoiseMode } from '../../common/vocabulary.js';
import type { FavouriteFilter } from '../../common/records.js';
import { fromStored, toStored } from '../home-layout.js';
import type { Db } from './db.js';

export interface FavouriteRow {
  id: number;
  run_id: number | null;
  checkpoint_id: number | null;
  /** Absolute here; stored relative when inside the home, absolute when outside (see home-layout.ts). */
  generator_path: string;
  /** Null when the bird is its latent (a projected plate). */
  seed: number | null;
  /** The latent file (absolute here, stored relative to the home), or null for a seed's bird. */
  latent: string | null;
  psi: number;
  noise_mode: GalleryNoiseMode;
  mix_seed: number | null;
  mix_layers: string | null;
  /** A move along direction `edit_direction` of `edit_method` over `edit_layers`, by `edit_amount`; all or none. */
  edit_method: DirectionMethod | null;
  edit_layers: string | null;
  edit_direction: number | null;
  edit_amount: number | null;
  /** The kept edit's vector file (absolute here, stored relative: `edits/<hash>.json`); null before migration 12. */
  edit_vector: string | null;
  name: string;
  note: string;
  kimg: number | null;
  created_at: number;
}

type EditColumns = 'edit_method' | 'edit_layers' | 'edit_direction' | 'edit_amount' | 'edit_vector';
export type NewFavourite = Omit<FavouriteRow, 'id' | 'created_at' | 'note' | 'latent' | EditColumns> & {
  note?: string;
  latent?: string | null;
} & Partial<Pick<FavouriteRow, EditColumns>>;

/** ORDER BY per sort key; `id` breaks ties so a page order never shuffles. Fixed strings, never user text. */
const ORDER: Record<FavouriteSort, string> = {
  created: 'created_at',
  name: 'name COLLATE NOCASE',
  seed: 'seed',
  kimg: 'kimg',
};

/** Queries for favourites. Checks of meaning (the checkpoint exists, the name is sane) live with the callers. */
export class FavouriteStore {
  readonly #db: Db;
  readonly #home: string;
  constructor(db: Db, home: string) {
    this.#db = db;
    this.#home = home;
  }

  readonly #out = (r: FavouriteRow): FavouriteRow => ({
    ...r,
    generator_path: fromStored(this.#home, r.generator_path),
    latent: r.latent === null ? null : fromStored(this.#home, r.latent),
    edit_vector: r.edit_vector === null ? null : fromStored(this.#home, r.edit_vector),
  });

  add(f: NewFavourite): FavouriteRow {
    const row = this.#db
      .prepare<Record<string, unknown>, FavouriteRow>(
        `INSERT INTO favourites (run_id, checkpoint_id, generator_path, seed, latent, psi, noise_mode, mix_seed,
           mix_layers, edit_method, edit_layers, edit_direction, edit_amount, edit_vector, name, note, kimg,
           created_at)
         VALUES (@run_id, @checkpoint_id, @generator_path, @seed, @latent, @psi, @noise_mode, @mix_seed,
           @mix_layers, @edit_method, @edit_layers, @edit_direction, @edit_amount, @edit_vector, @name, @note, @kimg,
           @created_at)
         RETURNING *`,
      )
      .get({
        edit_method: null,
        edit_layers: null,
        edit_direction: null,
        edit_amount: null,
        ...f,
        generator_path: toStored(this.#home, f.generator_path),
        latent: f.latent ? toStored(this.#home, f.latent) : null,
        edit_vector: f.edit_vector ? toStored(this.#home, f.edit_vector) : null,
        note: f.note ?? '',
        created_at: Date.now(),
      });
    return this.#out(row!);
  }

  get(id: number): FavouriteRow | undefined {
    const row = this.#db.prepare<[number], FavouriteRow>('SELECT * FROM favourites WHERE id = ?').get(id);
    return row && this.#out(row);
  }

  list(filter: FavouriteFilter = {}): FavouriteRow[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.text !== undefined && filter.text !== '') {
      // instr on lower(): no LIKE wildcards to escape in what the user typed.
      where.push('(instr(lower(name), lower(@text)) > 0 OR instr(lower(note), lower(@text)) > 0)');
      params.text = filter.text;
    }
    if (filter.runId !== undefined) {
      where.push('run_id = @runId');
      params.runId = filter.runId;
    }
    const dir = filter.descending ? 'DESC' : 'ASC';
    const order = ORDER[filter.sort ?? 'created'];
    const sql =
      `SELECT * FROM favourites ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY ${order} ${dir}, id ${dir}`;
    return this.#db.prepare<Record<string, unknown>, FavouriteRow>(sql).all(params).map(this.#out);
  }

  /** Renames and/or re-notes; undefined when there is no such favourite. */
  update(id: number, fields: { name?: string; note?: string }): FavouriteRow | undefined {
    const row = this.get(id);
    if (!row) return undefined;
    const updated = this.#db
      .prepare<[string, string, number], FavouriteRow>(
        'UPDATE favourites SET name = ?, note = ? WHERE id = ? RETURNING *',
      )
      .get(fields.name ?? row.name, fields.note ?? row.note, id);
    return updated && this.#out(updated);
  }

  /** How many favourites hold this latent file (several may: the files are named by their content). */
  latentUsers(latent: string): number {
    return this.#db
      .prepare<[string], { n: number }>('SELECT count(*) AS n FROM favourites WHERE latent = ?')
      .get(toStored(this.#home, latent))!.n;
  }

  /** How many favourites' edits name this vector file (named by content, like latents). */
  editVectorUsers(file: string): number {
    return this.#db
      .prepare<[string], { n: number }>('SELECT count(*) AS n FROM favourites WHERE edit_vector = ?')
      .get(toStored(this.#home, file))!.n;
  }

  /** True when it existed. */
  remove(id: number): boolean {
    return this.#db.prepare('DELETE FROM favourites WHERE id = ?').run(id).changes > 0;
  }

  /** The favourites that deleting this run would remove (its own, by run or by checkpoint). */
  forRun(runId: number): FavouriteRow[] {
    return this.#db
      .prepare<[number, number], FavouriteRow>(
        `SELECT * FROM favourites
         WHERE run_id = ? OR checkpoint_id IN (SELECT id FROM checkpoints WHERE run_id = ?) ORDER BY id`,
      )
      .all(runId, runId)
      .map(this.#out);
  }

  /** Removes a run's favourites (after the user confirmed); returns how many went. */
  removeForRun(runId: number): number {
    return this.#db
      .prepare(
        `DELETE FROM favourites WHERE run_id = ? OR checkpoint_id IN (SELECT id FROM checkpoints WHERE run_id = ?)`,
      )
      .run(runId, runId).changes;
  }
}
