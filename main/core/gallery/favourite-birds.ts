/**
 * What a favourite's bird is beyond a seed: a latent (a projected plate's ws and noise maps, kept
 * as a file in the home) and an edit (a move along one of its generator's directions). Both
 * become the BirdSpec that every drawer takes (gallery, prints, interpolation), so a favourite is
 * drawn the same way, to the same bytes, wherever it is drawn.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { BirdEdit } from '../../../preload/contract.js';
import { describeGenerator } from '../netfile/generator-file.js';
import { editVectorFile, latentFile } from '../home-layout.js';
import type { Directions } from '../insight/directions.js';
import { latentText, readLatent } from '../insight/latent.js';
import { directionLayers } from '../insight/service.js';
import { submitInsight } from '../insight/submit.js';
import type { FavouriteRow } from '../store/favourites.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { BirdSpec } from './render.js';
import type { TaskRunner } from './runner.js';

/** The generators whose directions are held in memory (32 × wDim numbers per method and layer range). */
const DIRECTION_SETS_KEPT = 16;
/** Kept edits' vectors held in memory (wDim numbers each; their files never change: named by content). */
const EDIT_VECTORS_KEPT = 256;
/** The format of a kept edit's vector file (`edits/<hash>.json`). */
export const EDIT_VECTOR_FORMAT = 'plumage-edit-vector/1';
/** Larger than any vector file can be (512 numbers of ~25 characters, and the edit): read no further. */
const MAX_EDIT_VECTOR_BYTES = 64 * 1024;

interface EditVectorFile {
  format: typeof EDIT_VECTOR_FORMAT;
  method: BirdEdit['method'];
  layers: string;
  direction: number;
  wDim: number;
  vector: number[];
}

export class FavouriteBirdError extends Error {
  readonly code = 'invalid-input';
}

/** A generator as the gallery resolved it: its file, side and a tag that changes with its content. */
export interface DrawnBy {
  file: string;
  resolution: number;
  tag: string;
}

export class FavouriteBirds {
  readonly #home: string;
  readonly #runner: TaskRunner;
  readonly #directions = new Map<string, Promise<Directions>>();
  readonly #vectors = new Map<string, number[]>();

  constructor(home: string, runner: TaskRunner) {
    this.#home = home;
    this.#runner = runner;
  }

  /**
   * An edit as the renderer takes it (its unit vector) and as it is kept (layers as "lo-hi").
   * The directions come from the home's cache, or are computed once (insight/tasks.ts).
   */
  async edit(gen: DrawnBy, e: BirdEdit): Promise<{ spec: NonNullable<BirdSpec['edit']>; kept: BirdEdit }> {
    const layers = directionLayers(e.layers, gen.resolution);
    const key = `${gen.tag}|${e.method}|${layers}`;
    let dirs = this.#directions.get(key);
    if (!dirs) {
      dirs = submitInsight<Directions>(this.#runner, this.#home, {
        op: 'directions',
        home: this.#home,
        file: gen.file,
        method: e.method,
        layers,
      });
      this.#directions.set(key, dirs);
      dirs.catch(() => this.#directions.delete(key));
      if (this.#directions.size > DIRECTION_SETS_KEPT) this.#directions.delete(this.#directions.keys().next().value!);
    }
    const vector = (await dirs).vectors[e.direction];
    if (!vector)
      throw new FavouriteBirdError(
        `direction ${e.direction} does not exist: ${e.method} gives ${(await dirs).vectors.length} directions ` +
          `(0 to ${(await dirs).vectors.length - 1})`,
      );
    return { spec: { vector, layers, amount: e.amount }, kept: { ...e, layers } };
  }

  /**
   * The vector a kept edit moves along, written into the home named by its content; returns its
   * path. The favourite names it, so its redraw reads these numbers instead of recomputing the
   * directions (GANSpace's come from w's sampled through a backend: another backend, other ulps).
   */
  async keepVector(kept: BirdEdit, vector: number[]): Promise<string> {
    const file: EditVectorFile = {
      format: EDIT_VECTOR_FORMAT,
      method: kept.method,
      layers: kept.layers,
      direction: kept.direction,
      wDim: vector.length,
      vector,
    };
    const text = JSON.stringify(file);
    const path = editVectorFile(this.#home, createHash('sha256').update(text).digest('hex').slice(0, 24));
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, Buffer.from(text));
    return path;
  }

  /** A kept edit's vector, checked: its format, and that it moves a w of this generator's width. */
  async #readVector(row: FavouriteRow, gen: DrawnBy): Promise<number[]> {
    const path = row.edit_vector!;
    const bad = (why: string): FavouriteBirdError =>
      new FavouriteBirdError(`favourite ${row.id}'s edit vector ${path} ${why}`);
    const { size, mtimeMs } = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw bad(`cannot be read: ${err.code ?? err.message}`);
    });
    // Keyed by the file's size and time too: one changed under the app is read (and checked) again.
    const key = `${gen.tag}|${path}|${size}|${mtimeMs}`;
    const hit = this.#vectors.get(key);
    if (hit) return hit;
    if (size > MAX_EDIT_VECTOR_BYTES) throw bad(`is ${size} bytes, more than a vector file can be`);
    let file: Partial<EditVectorFile>;
    try {
      file = JSON.parse(await readFile(path, 'utf8')) as Partial<EditVectorFile>;
    } catch (err) {
      throw bad(`is not JSON: ${(err as Error).message}`);
    }
    if (file.format !== EDIT_VECTOR_FORMAT) throw bad(`is not a ${EDIT_VECTOR_FORMAT} file`);
    const { wDim } = (await describeGenerator(gen.file)).config;
    const v = file.vector;
    if (!Array.isArray(v) || v.length !== wDim || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw bad(`does not hold ${wDim} finite numbers (the width of w in ${basename(gen.file)})`);
    this.#vectors.set(key, v);
    if (this.#vectors.size > EDIT_VECTORS_KEPT) this.#vectors.delete(this.#vectors.keys().next().value!);
    return v;
  }

  /**
   * A latent file (as projectImage writes it) checked against the generator and copied into the
   * home, named by its content; returns the copy's path. Nothing is written when it does not fit.
   */
  async importLatent(file: string, generatorFile: string): Promise<string> {
    const { config } = await describeGenerator(generatorFile);
    const latent = await readLatent(file, config).catch((err: Error) => {
      throw new FavouriteBirdError(err.message);
    });
    const text = latentText(latent, config, basename(generatorFile));
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 24);
    const path = latentFile(this.#home, hash);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, Buffer.from(text));
    return path;
  }

  /**
   * The favourite's bird, exactly as it was kept; `gen` (its generator, resolved) is needed only
   * when the row holds an edit.
   */
  async specOf(row: FavouriteRow, gen: DrawnBy | null): Promise<BirdSpec> {
    if (row.edit_method !== null && gen === null) throw new Error(`favourite ${row.id}'s edit needs its generator`);
    // The kept vector when the favourite names one; an edit kept before migration 12 recomputes
    // its directions (the same vector on the backend that kept it).
    const edit =
      row.edit_method === null
        ? null
        : row.edit_vector !== null
          ? { vector: await this.#readVector(row, gen!), layers: row.edit_layers!, amount: row.edit_amount! }
          : (
              await this.edit(gen!, {
                method: row.edit_method,
                layers: row.edit_layers!,
                direction: row.edit_direction!,
                amount: row.edit_amount!,
              })
            ).spec;
    return {
      seed: row.seed ?? 0,
      psi: row.psi,
      noiseMode: row.noise_mode,
      latent: row.latent !== null ? { file: row.latent } : null,
      mix: row.mix_seed !== null ? { seed: row.mix_seed, layers: row.mix_layers! } : null,
      edit,
    };
  }
}

/** The kept edit of a favourite's row, or null. */
export function editOf(row: FavouriteRow): BirdEdit | null {
  if (row.edit_method === null) return null;
  return {
    method: row.edit_method,
    layers: row.edit_layers!,
    direction: row.edit_direction!,
    amount: row.edit_amount!,
  };
}

/** A number standing for a latent's content (its file is named by its hash), for its suggested name. */
export const latentNumber = (path: string): number => parseInt(basename(path, '.json').slice(0, 8), 16) >>> 0;
