/**
 * The gallery as the Studio and the CLI offer it: resolve a model (a run's checkpoint or any
 * generator file), draw birds into the home's gallery cache (served as media), keep favourites,
 * redraw them, interpolate between them. Pixels are made by a TaskRunner: the generator process
 * in the app and `serve`, this process in the one-shot CLI.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { GalleryNoiseMode } from '../../common/vocabulary.js';
import type { FavouriteFilter } from '../../common/records.js';
import type {
  AddFavouriteParams,
  BirdEdit,
  DirectionWalk,
  Favourite,
  GalleryEvents,
  GenerateFilesParams,
  GenerateFilesResult,
  GenerateParams,
  GenerateResult,
  GeneratorInfo,
  GeneratorRef,
  InterpolateParams,
  InterpolateResult,
} from '../../../preload/contract.js';
import { GALLERY_DIR, galleryDir, removeInHome, removeInHomeSync } from '../home-layout.js';
import { makeExportFolder, removeCreated } from '../export/folder.js';
import type { Db } from '../store/db.js';
import { FavouriteStore, type FavouriteRow } from '../store/favourites.js';
import { RunStore, type CheckpointRow, type SnapshotRow } from '../store/runs.js';
import { describeGenerator } from '../netfile/generator-file.js';
import { checkUserFile } from '../util/user-file.js';
import { mixRange } from './mixing.js';
import { binomialName, whyBadName, whyBadNote } from './names.js';
import { planInterpolationFiles } from './interpolation-files.js';
import { FavouriteBirds, editOf, latentNumber } from './favourite-birds.js';
import { drawToFolder, type DrawToFolderOptions } from './draw-to-folder.js';
import type { BirdSpec, LatentSpace } from './render.js';
import type { TaskRunner } from './runner.js';

/** The default model is loaded at warm-up up to this resolution (see warmUp). */
export const PRELOAD_MAX_RESOLUTION = 64;
/** Drawn images kept on disk; past this the oldest of this session go (the cache starts empty each session). */
export const MAX_CACHED_IMAGES = 4000;

export class GalleryError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid-input' | 'not-found' = 'invalid-input',
  ) {
    super(message);
  }
}

interface ResolvedGenerator extends GeneratorInfo {
  tag: string;
}

export class Gallery extends EventEmitter<{ [E in keyof GalleryEvents]: [GalleryEvents[E]] }> {
  readonly favourites: FavouriteStore;
  /** Favourites' latents and edits, as birds to draw. */
  readonly birds: FavouriteBirds;
  readonly #runs: RunStore;
  readonly #home: string;
  readonly #runner: TaskRunner;
  readonly #cached: string[] = [];

  constructor(db: Db, home: string, runner: TaskRunner, opts: { clearCache?: boolean } = {}) {
    super();
    this.favourites = new FavouriteStore(db, home);
    this.birds = new FavouriteBirds(home, runner);
    this.#runs = new RunStore(db, home);
    this.#home = home;
    this.#runner = runner;
    if (opts.clearCache) removeInHomeSync(home, galleryDir(home), { recursive: true });
  }

  async close(): Promise<void> {
    await this.#runner.close();
  }

  /**
   * Starts the generator process ahead of the first look (the app and `serve` do, at start-up),
   * and preloads the newest run's latest checkpoint (the Gallery's first model) when it is
   * small enough that holding it costs little: a larger one would pin its lanes' memory
   * (~1.6 GB each at 256²) for a session that may never open the Gallery.
   */
  async warmUp(): Promise<void> {
    await this.#runner.warmUp(this.#preloadable());
  }

  #preloadable(): string | undefined {
    const run = this.#runs.listRuns()[0]; // newest first, as the Gallery view picks it
    const ckpt = run ? this.#newestOnDisk(run.id) : undefined;
    if (!run || !ckpt) return undefined;
    let resolution: number;
    try {
      resolution = this.#runs.runConfig(run).resolution;
    } catch {
      return undefined; // a damaged config is reported where the run is used; warming up goes on without it
    }
    return resolution <= PRELOAD_MAX_RESOLUTION ? ckpt.path : undefined;
  }

  async openGenerator(ref: GeneratorRef): Promise<GeneratorInfo> {
    const { tag: _tag, ...info } = await this.#resolve(ref);
    return info;
  }

  /** Queues the birds not drawn yet; each one's `galleryImage` event follows as it lands. */
  async generate(p: GenerateParams): Promise<GenerateResult> {
    const gen = await this.#resolve(p.generator);
    const mix = this.#mix(p.mixSeed, p.mixLayers, gen.resolution);
    const edit = p.edit ? await this.birds.edit(gen, p.edit) : null;
    const specs = p.seeds.map((seed): BirdSpec => ({
      seed,
      psi: p.psi,
      noiseMode: p.noiseMode,
      mix,
      edit: edit?.spec,
    }));
    return this.#draw(gen, specs, edit?.kept ?? null);
  }

  /** "Draw these birds into this folder" (draw-to-folder.ts): named PNGs, not the cache. */
  async generateFiles(p: GenerateFilesParams, opts: DrawToFolderOptions = {}): Promise<GenerateFilesResult> {
    const gen = await this.#resolve(p.generator);
    const mix = this.#mix(p.mixSeed, p.mixLayers, gen.resolution);
    const edit = p.edit ? (await this.birds.edit(gen, p.edit)).spec : undefined;
    const specs = p.seeds.map((seed): BirdSpec => ({ seed, psi: p.psi, noiseMode: p.noiseMode, mix, edit }));
    const { tag: _tag, ...generator } = gen;
    return { generator, ...(await drawToFolder(this.#runner, this.#home, gen.file, p, specs, opts)) };
  }

  cancel(jobId: number): boolean {
    return this.#runner.cancel(jobId);
  }

  suggestName(seed: number, mixSeed?: number): string {
    return binomialName(seed, mixSeed ?? null);
  }

  /**
   * Keeps a seed's bird or a latent's (a copy of its file goes into the home), with its style mix
   * and edit; everything is checked before anything is written.
   */
  async addFavourite(p: AddFavouriteParams): Promise<Favourite> {
    const gen = await this.#resolve(p.generator);
    const mix = this.#mix(p.mixSeed, p.mixLayers, gen.resolution);
    const moved = p.edit ? await this.birds.edit(gen, p.edit) : null;
    const edit = moved?.kept ?? null;
    const name = p.name?.trim();
    if (name !== undefined) checkName(name);
    const note = p.note ?? '';
    checkNote(note);
    const latent = p.latent !== undefined ? await this.birds.importLatent(resolve(p.latent), gen.file) : null;
    const editVector = moved ? await this.birds.keepVector(moved.kept, moved.spec.vector) : null;
    const seed = latent === null ? p.seed! : null;
    const row = this.favourites.add({
      run_id: gen.runId,
      checkpoint_id: gen.checkpointId,
      generator_path: gen.file,
      seed,
      latent,
      psi: p.psi ?? 1,
      noise_mode: p.noiseMode ?? 'const',
      mix_seed: mix?.seed ?? null,
      mix_layers: mix?.layers ?? null,
      edit_method: edit?.method ?? null,
      edit_layers: edit?.layers ?? null,
      edit_direction: edit?.direction ?? null,
      edit_amount: edit?.amount ?? null,
      edit_vector: editVector,
      name: name ?? binomialName(seed ?? latentNumber(latent!), p.mixSeed ?? null),
      note,
      kimg: gen.kimg,
    });
    return toFavourite(row);
  }

  listFavourites(filter: FavouriteFilter = {}): Favourite[] {
    return this.favourites.list(filter).map(toFavourite);
  }

  getFavourite(id: number): Favourite {
    return toFavourite(this.#favourite(id));
  }

  updateFavourite(id: number, fields: { name?: string; note?: string }): Favourite {
    this.#favourite(id);
    const name = fields.name?.trim();
    if (name !== undefined) checkName(name);
    if (fields.note !== undefined) checkNote(fields.note);
    return toFavourite(this.favourites.update(id, { ...(name !== undefined ? { name } : {}), note: fields.note })!);
  }

  /** Removes a favourite, and its latent and edit vector files once no other favourite holds them. */
  removeFavourite(id: number): boolean {
    const row = this.favourites.get(id);
    const removed = this.favourites.remove(id);
    if (row) this.#removeUnheld([row]);
    return removed;
  }

  /** The latent and edit vector files of these (removed) favourites that no favourite holds now. */
  #removeUnheld(rows: FavouriteRow[]): void {
    for (const l of new Set(rows.flatMap((r) => (r.latent ? [r.latent] : []))))
      if (this.favourites.latentUsers(l) === 0) removeInHomeSync(this.#home, l);
    for (const v of new Set(rows.flatMap((r) => (r.edit_vector ? [r.edit_vector] : []))))
      if (this.favourites.editVectorUsers(v) === 0) removeInHomeSync(this.#home, v);
  }

  /** Draws a favourite again, from exactly what it recorded. */
  async renderFavourite(id: number): Promise<GenerateResult> {
    const row = this.#favourite(id);
    const gen = await this.#fileOf(row);
    return this.#draw(gen, [await this.birds.specOf(row, gen)], editOf(row));
  }

  /** Interpolation between favourites of one generator: a preview strip, an animation, or PNG frames. */
  async interpolate(p: InterpolateParams): Promise<Omit<InterpolateResult, 'downloads'>> {
    const { gen, keys } = p.along ? await this.#walkKeys(p.along, p.space) : await this.#favouriteKeys(p);
    if (p.format === 'strip') {
      const hash = createHash('sha256')
        .update(JSON.stringify([gen.tag, keys, p.space, p.frames]))
        .digest('hex')
        .slice(0, 20);
      const media = `${GALLERY_DIR}/strips/${hash}.png`;
      const out = join(this.#home, media);
      await removeInHome(this.#home, out);
      await this.#run({
        kind: 'interpolate',
        file: gen.file,
        keys,
        space: p.space,
        frames: p.frames,
        fps: p.fps,
        format: 'strip',
        out,
      });
      return { files: [out], media };
    }
    // An export: checked whole first; the folder is made last, and unmade if it fails.
    const {
      folder: dir,
      name,
      paths,
    } = await planInterpolationFiles({ ...p, format: p.format }, this.#home, gen.resolution);
    const made = await makeExportFolder(dir);
    try {
      const files = await this.#run({
        kind: 'interpolate',
        file: gen.file,
        keys,
        space: p.space,
        frames: p.frames,
        fps: p.fps,
        format: p.format,
        out: p.format === 'png' ? dir : paths[0]!,
        prefix: name,
      });
      return { files, media: null };
    } catch (err) {
      await removeCreated(made);
      throw err;
    }
  }

  async #favouriteKeys(p: InterpolateParams & { favouriteIds: number[] }) {
    const rows = p.favouriteIds.map((id) => this.#favourite(id));
    const files = new Set(rows.map((r) => r.generator_path));
    if (files.size > 1)
      throw new GalleryError(
        `these favourites come from ${files.size} different generator files; an interpolation needs one`,
      );
    if (p.frames < rows.length)
      throw new GalleryError(
        `frames must be at least the number of favourites (${rows.length}): each of them is a frame`,
      );
    const gen = await this.#fileOf(rows[0]!);
    const keys: BirdSpec[] = [];
    for (const r of rows) keys.push(await this.birds.specOf(r, gen));
    return { gen, keys };
  }

  /**
   * A walk along a direction as an interpolation between its two ends: an edit is linear in its
   * amount, so the frames lerped in W between −A and +A are the bird moved by every amount between.
   */
  async #walkKeys(w: DirectionWalk, space: LatentSpace) {
    if (space !== 'w') throw new GalleryError('a walk along a direction is a path in W: choose the space w');
    const gen = await this.#resolve(w.generator);
    const mix = this.#mix(w.mixSeed, w.mixLayers, gen.resolution);
    const reach = Math.abs(w.edit.amount);
    if (reach === 0) throw new GalleryError('a walk along a direction needs an amount other than 0 (how far it goes)');
    const bird = { seed: w.seed, psi: w.psi, noiseMode: w.noiseMode, mix };
    const keys: BirdSpec[] = [];
    for (const amount of [-reach, reach])
      keys.push({ ...bird, edit: (await this.birds.edit(gen, { ...w.edit, amount })).spec });
    return { gen, keys };
  }

  /** A favourite's bird as every drawer takes it (prints, contact sheets): its latent and edit resolved. */
  async favouriteBird(row: FavouriteRow): Promise<BirdSpec> {
    // The generator is opened only for an edit (its directions): a seed's or a latent's bird is
    // known from the row, so an export plans its prints without opening any file, and a broken
    // generator fails its own print while the others are kept.
    return this.birds.specOf(row, row.edit_method === null ? null : await this.#fileOf(row));
  }

  /** Removes a run's favourites (after the user confirmed) and the files only they held; how many went. */
  removeFavouritesOfRun(runId: number): number {
    const rows = this.favourites.forRun(runId);
    const n = this.favourites.removeForRun(runId);
    this.#removeUnheld(rows);
    return n;
  }

  /** The favourites deleting this run would remove. */
  favouritesOfRun(runId: number): Favourite[] {
    return this.favourites.forRun(runId).map(toFavourite);
  }

  async #run(task: Parameters<TaskRunner['submit']>[0]): Promise<string[]> {
    const { done } = this.#runner.submit(task);
    const r = await done;
    if (r.cancelled) throw new GalleryError('cancelled');
    return r.files;
  }

  async #draw(gen: ResolvedGenerator, specs: BirdSpec[], edit: BirdEdit | null = null): Promise<GenerateResult> {
    const { tag: _tag, ...info } = gen;
    const birds = specs.map((s) => {
      const media = mediaKey(gen.tag, s);
      return { seed: s.seed, media, ready: existsSync(join(this.#home, media)) };
    });
    const todo = birds.map((b, i) => ({ b, i })).filter(({ b }) => !b.ready);
    const mixLayers = specs[0]?.mix?.layers ?? null;
    if (todo.length === 0) return { jobId: 0, generator: info, mixLayers, edit, birds };
    const { id, done } = this.#runner.submit(
      {
        kind: 'birds',
        file: gen.file,
        specs: todo.map(({ i }) => specs[i]!),
        out: todo.map(({ b }) => join(this.#home, b.media)),
      },
      (f) => {
        const bird = todo[f.index]!;
        this.#remember(join(this.#home, bird.b.media));
        this.emit('galleryImage', { jobId: id, index: bird.i, media: bird.b.media, ms: f.ms });
      },
    );
    done.then(
      (r) => this.emit('galleryJob', { jobId: id, state: r.cancelled ? 'cancelled' : 'done' }),
      (err: Error) => this.emit('galleryJob', { jobId: id, state: 'failed', error: err.message }),
    );
    return { jobId: id, generator: info, mixLayers, edit, birds };
  }

  /** Waits for a generate's job (the CLI and tests); throws its error. */
  async settle(result: GenerateResult): Promise<void> {
    if (result.jobId === 0) return;
    await new Promise<void>((res, rej) => {
      const on = (e: GalleryEvents['galleryJob']) => {
        if (e.jobId !== result.jobId) return;
        this.off('galleryJob', on);
        if (e.state === 'failed') rej(new GalleryError(e.error ?? 'failed'));
        else res();
      };
      this.on('galleryJob', on);
    });
  }

  #remember(file: string): void {
    this.#cached.push(file);
    // A drawn bird that cannot be evicted stays on disk until the next session clears the cache.
    if (this.#cached.length > MAX_CACHED_IMAGES) void removeInHome(this.#home, this.#cached.shift()!).catch(() => {});
  }

  #mix(seed: number | undefined, layers: string | undefined, resolution: number): BirdSpec['mix'] {
    if (seed === undefined && layers === undefined) return null;
    if (seed === undefined || layers === undefined)
      throw new GalleryError('a style mix needs both the second seed and the layers it gives');
    return { seed, layers: mixRange(layers, resolution) };
  }

  #favourite(id: number): FavouriteRow {
    const row = this.favourites.get(id);
    if (!row) throw new GalleryError(`no favourite with id ${id}`, 'not-found');
    return row;
  }

  /** The favourite's generator, or a not-found error that names the missing file and offers removal. */
  async #fileOf(row: FavouriteRow): Promise<ResolvedGenerator> {
    const checked = await checkUserFile(row.generator_path, 'generator file');
    if (!checked.ok && checked.error.code !== 'not-found')
      throw new GalleryError(`favourite #${row.id} "${row.name}" cannot be drawn: ${checked.error.message}`);
    if (!checked.ok) {
      const from = row.run_id !== null ? ` (run #${row.run_id}${row.kimg !== null ? ` at ${row.kimg} kimg` : ''})` : '';
      throw new GalleryError(
        `favourite #${row.id} "${row.name}" cannot be drawn: its generator file ${row.generator_path}${from} is ` +
          `gone. Put the file back, or remove the favourite (Remove in the Favourites tab; ` +
          `\`plumage favourite remove ${row.id}\`).`,
        'not-found',
      );
    }
    const ckpt = row.checkpoint_id !== null ? this.#runs.getCheckpoint(row.checkpoint_id) : undefined;
    return this.#info(row.generator_path, ckpt ?? this.#runs.snapshotAt(row.generator_path));
  }

  async #resolve(ref: GeneratorRef): Promise<ResolvedGenerator> {
    if ('file' in ref) {
      const file = resolve(ref.file);
      // A run's checkpoint (or G_ema file) opened by path is still that: its favourites protect it.
      return this.#info(file, this.#runs.checkpointAt(file) ?? this.#runs.snapshotAt(file));
    }
    const run = this.#runs.getRun(ref.runId);
    if (!run) throw new GalleryError(`no run with id ${ref.runId}`, 'not-found');
    let ckpt: CheckpointRow | undefined;
    if (ref.snapshotId !== undefined) {
      const snap = this.#runs.getSnapshot(ref.snapshotId);
      if (!snap || snap.run_id !== run.id)
        throw new GalleryError(`run #${run.id} has no snapshot with id ${ref.snapshotId}`, 'not-found');
      if (snap.generator === null || !existsSync(snap.generator))
        throw new GalleryError(
          `the G_ema of run #${run.id} at ${snap.kimg.toFixed(3)} kimg is no longer kept (only the newest are): ` +
            'draw from a newer one or from a checkpoint',
          'not-found',
        );
      return this.#info(snap.generator, snap);
    } else if (ref.checkpointId !== undefined) {
      ckpt = this.#runs.getCheckpoint(ref.checkpointId);
      if (!ckpt || ckpt.run_id !== run.id)
        throw new GalleryError(`run #${run.id} has no checkpoint with id ${ref.checkpointId}`, 'not-found');
    } else if (ref.kimg !== undefined) {
      const good = this.#runs.goodCheckpoints(run.id);
      ckpt = good.find((c) => Math.abs(c.kimg - ref.kimg!) < 5e-4);
      if (!ckpt)
        throw new GalleryError(
          `run #${run.id} has no checkpoint at ${ref.kimg} kimg; it has ` +
            (good.length
              ? good
                  .map((c) => c.kimg)
                  .sort((a, b) => a - b)
                  .join(', ')
              : 'none yet'),
          'not-found',
        );
    } else {
      // The run's newest generator: its G_ema as of the last grid, when that is past its last checkpoint.
      ckpt = this.#newestOnDisk(run.id) ?? this.#runs.latestCheckpoint(run.id);
      const live = this.#runs.liveGenerators(run.id).find((s) => existsSync(s.generator!));
      if (live && (!ckpt || live.step > ckpt.step)) return this.#info(live.generator!, live);
      if (!ckpt)
        throw new GalleryError(`run #${run.id} has no checkpoint yet: train it until it writes one`, 'not-found');
    }
    if (ckpt.damaged) throw new GalleryError(`checkpoint ${ckpt.path} is damaged (${ckpt.damaged})`);
    return this.#info(ckpt.path, ckpt);
  }

  /** The run's newest intact checkpoint whose file is there (one moved away is passed over, not an error). */
  #newestOnDisk(runId: number): CheckpointRow | undefined {
    return this.#runs.goodCheckpoints(runId).find((c) => existsSync(c.path));
  }

  /** What `file` is: a run's checkpoint, the G_ema of one of its snapshots, or (neither) a loose file. */
  async #info(file: string, from: CheckpointRow | SnapshotRow | undefined): Promise<ResolvedGenerator> {
    // What it is, then its header and architecture: a file that cannot be drawn is refused here, by name.
    const checked = await checkUserFile(file, 'generator file');
    if (!checked.ok) throw checked.error;
    const st = checked.stat;
    const { resolution } = (await describeGenerator(file)).config;
    const run = from ? this.#runs.getRun(from.run_id) : undefined;
    const snapshot = from && 'grid' in from;
    return {
      file,
      runId: run?.id ?? null,
      runName: run?.name ?? null,
      checkpointId: from && !snapshot ? from.id : null,
      snapshotId: from && snapshot ? from.id : null,
      kimg: from?.kimg ?? null,
      resolution,
      tag: createHash('sha256').update(`${file}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16),
    };
  }
}

/** Media key of a drawn bird: everything that decides its pixels, in characters media keys allow. */
export function mediaKey(tag: string, s: BirdSpec): string {
  const psi = String(s.psi).replace('.', '_');
  const mix = s.mix ? `-m${s.mix.seed}-${s.mix.layers}` : '';
  // A latent's file is named by its content; an edit by a hash of its vector, layers and amount.
  const bird = s.latent ? `l${basename(s.latent.file, '.json')}` : `s${s.seed}`;
  const edit = s.edit ? `-e${createHash('sha256').update(JSON.stringify(s.edit)).digest('hex').slice(0, 16)}` : '';
  return `${GALLERY_DIR}/${tag}/${bird}-p${psi}-${s.noiseMode}${mix}${edit}.png`;
}

function checkName(name: string): void {
  const why = whyBadName(name);
  if (why) throw new GalleryError(why);
}

function checkNote(note: string): void {
  const why = whyBadNote(note);
  if (why) throw new GalleryError(why);
}

export function toFavourite(r: FavouriteRow): Favourite {
  return {
    id: r.id,
    runId: r.run_id,
    checkpointId: r.checkpoint_id,
    generatorPath: r.generator_path,
    seed: r.seed,
    latent: r.latent,
    psi: r.psi,
    noiseMode: r.noise_mode as GalleryNoiseMode,
    mixSeed: r.mix_seed,
    mixLayers: r.mix_layers,
    edit: editOf(r),
    name: r.name,
    note: r.note,
    kimg: r.kimg,
    createdAt: r.created_at,
    fileMissing: !existsSync(r.generator_path),
  };
}
