/**
 * Exports as the Studio offers them: favourites turned into prints or a contact sheet, a dataset
 * as a reference-format zip, a run's grids as a time-lapse. Every request checks everything it
 * can first and throws (nothing written); then it returns the job's first progress at once and
 * works in the background, announcing `exportProgress` events until done, cancelled or failed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendChoice, ExportKind, UpscalerChoice } from '../../common/vocabulary.js';
import type { ExportProgress } from '../../common/records.js';
import type {
  ExportStart,
  FavouriteSelection,
  MissingGenerator,
  PrintAdvice,
  RequestParams,
} from '../../../preload/contract.js';
import { describeGenerator } from '../netfile/generator-file.js';
import { datasetCacheFile } from '../home-layout.js';
import { checkUserFile, type UserFileError } from '../util/user-file.js';
import type { DatasetStore } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import { FavouriteStore, type FavouriteRow } from '../store/favourites.js';
import { RunStore } from '../store/runs.js';
import { ExistsError, ExportInputError, outputPath, refuseOverwrite, slug } from './files.js';
import { checkExportFolder, makeExportFolder, removeCreated } from './folder.js';
import { runInExportProcess } from './export-process.js';
import type { SpawnChild } from '../util/spawn-child.js';
import { ExportJob } from './job.js';
import { planPrints } from './print-plan.js';
import { UPSCALER_DESCRIPTIONS } from './upscalers.js';
import { adviseUpscale } from './upscale-choice.js';
import type { FavouriteSource } from './types.js';
import type { BirdSpec } from '../gallery/render.js';
import type { ExportWork } from './worker-protocol.js';

const ENDED_JOBS_KEPT = 16;

export class ExportNotFoundError extends Error {
  readonly code = 'not-found';
}

export interface ExportServiceDeps {
  db: Db;
  home: string;
  datasets: DatasetStore;
  emit: (p: ExportProgress) => void;
  /** The backend prints are drawn and upscaled on (the CLI's `--backend`); by default the best one present. */
  backend?: BackendChoice | undefined;
  /** How export processes are started (Electron: utility processes); by default a Node fork. */
  spawn?: SpawnChild | undefined;
  /** A written file's download key (home-layout's exportKey); by default none. */
  keyOf?: (path: string) => string | null;
  /** A favourite's bird with its latent and edit resolved (the gallery's favouriteBird). */
  birdOf: (row: FavouriteRow) => Promise<BirdSpec>;
}

export class ExportService {
  readonly #deps: ExportServiceDeps;
  readonly #favourites: FavouriteStore;
  readonly #runs: RunStore;
  readonly #jobs = new Map<number, ExportJob>();
  readonly #ended = new Map<number, ExportJob>();
  #nextJob = 1;
  /** The last print or contact-sheet job's turn: they take turns, one export process at a time. */
  #heavy: Promise<void> = Promise.resolve();

  constructor(deps: ExportServiceDeps) {
    this.#deps = deps;
    this.#favourites = new FavouriteStore(deps.db, deps.home);
    this.#runs = new RunStore(deps.db, deps.home);
  }

  /**
   * Print sources for favourites, refusing unknown ids, favourites whose generator file is gone,
   * and those whose file is no longer a file (a pipe, a device: opening one would hang the export
   * process or fill it). A file whose content is wrong fails its own print in the export process,
   * which checks the header before it loads anything; the other prints carry on.
   */
  async favouriteSources(selection: FavouriteSelection): Promise<FavouriteSource[]> {
    const rows = this.#rows(selection);
    if (rows.length === 0) throw new ExportInputError('there are no favourites to export yet: keep a bird first');
    const problems = new Map<string, UserFileError | null>();
    for (const path of new Set(rows.map((r) => r.generator_path))) {
      const checked = await checkUserFile(path, 'generator file');
      problems.set(path, checked.ok ? null : checked.error);
    }
    const gone = rows.filter((r) => problems.get(r.generator_path)?.code === 'not-found');
    if (gone.length > 0)
      throw new MissingGeneratorsError(
        gone.map((r) => ({ favouriteId: r.id, name: r.name, generatorPath: r.generator_path })),
      );
    const unusable = rows.find((r) => problems.get(r.generator_path));
    if (unusable) {
      const why = problems.get(unusable.generator_path)!.message;
      throw new ExportInputError(`favourite ${unusable.id} (${unusable.name}) cannot be drawn: ${why}`);
    }
    const sources: FavouriteSource[] = [];
    for (const r of rows)
      sources.push({
        plate: r.id,
        name: r.name,
        seed: r.seed,
        // A latent's ψ is no part of it (it is drawn as it is): the caption says only what made the bird.
        ...(r.latent === null ? { psi: r.psi } : {}),
        ...(r.run_id !== null ? { run: this.#runs.getRun(r.run_id)?.name ?? `run ${r.run_id}` } : {}),
        ...(r.kimg !== null ? { kimg: r.kimg } : {}),
        date: new Date(r.created_at).toISOString().slice(0, 10),
        generatorPath: r.generator_path,
        bird: await this.#deps.birdOf(r),
      });
    return sources;
  }

  /** The selected favourites' rows; a not-found error for an unknown id. */
  #rows(selection: FavouriteSelection): FavouriteRow[] {
    return selection === 'all'
      ? this.#favourites.list({ sort: 'created' })
      : selection.map((id) => {
          const row = this.#favourites.get(id);
          if (!row) throw new ExportNotFoundError(`no favourite with id ${id}`);
          return row;
        });
  }

  /**
   * Prints of favourites into `folder`, one file each. Checked here; drawn, upscaled and written
   * in an export process of its own (export-process.ts), so tfjs and pdf-lib never load here.
   */
  async exportPrints(p: RequestParams<'exportPrints'>): Promise<ExportStart> {
    return orExisting(async () => {
      const overwrite = p.overwrite ?? false;
      const folder = await checkExportFolder(p.folder, this.#deps.home);
      const sources = await this.favouriteSources(p.favourites);
      const plan = await planPrints(sources, p.options, folder, overwrite);
      return this.#start('prints', sources.length, folder, (job) =>
        this.#inTurn(job, { kind: 'prints', plan, options: p.options, overwrite }),
      );
    });
  }

  async exportContactSheet(p: RequestParams<'exportContactSheet'>): Promise<ExportStart> {
    return orExisting(async () => {
      const overwrite = p.overwrite ?? false;
      const folder = await checkExportFolder(p.folder, this.#deps.home);
      const sources = await this.favouriteSources(p.favourites);
      const path = outputPath(folder, p.fileName ?? 'contact-sheet.pdf');
      if (!path.toLowerCase().endsWith('.pdf')) throw new ExportInputError('a contact sheet is a PDF: name it ….pdf');
      await refuseOverwrite([path], overwrite);
      const options = { ...p.options, title: 'Plumage — favourites' };
      return this.#start('contact-sheet', sources.length, folder, (job) =>
        this.#inTurn(job, { kind: 'contact-sheet', sources, options, path, overwrite }),
      );
    });
  }

  async exportDataset(p: RequestParams<'exportDataset'>): Promise<ExportStart> {
    return orExisting(async () => {
      const folder = await checkExportFolder(p.folder, this.#deps.home);
      const row = this.#deps.datasets.getDataset(p.datasetId);
      if (!row) throw new ExportNotFoundError(`no dataset with id ${p.datasetId}`);
      const fileName = p.fileName ?? `${slug(row.folder.split(/[/\\]/).pop() ?? 'dataset')}-${row.resolution}.zip`;
      const path = outputPath(folder, fileName);
      if (!path.toLowerCase().endsWith('.zip')) throw new ExportInputError('a dataset export is a zip: name it ….zip');
      await refuseOverwrite([path], p.overwrite ?? false);
      const slots = this.#deps.datasets.acceptedSlots(row.id).map((s) => s.slot);
      if (slots.length === 0) throw new ExportInputError(`dataset ${row.id} has no accepted images to export`);
      const input = { cacheFile: datasetCacheFile(this.#deps.home, row), resolution: row.resolution, slots };
      if (!existsSync(input.cacheFile))
        throw new ExportNotFoundError(
          `dataset ${row.id} has no training cache yet (${input.cacheFile}): ingest it first`,
        );
      const { exportDatasetZip } = await import('./dataset-zip.js');
      return this.#start('dataset', 1, folder, async (job) => {
        await exportDatasetZip(input, path, p.overwrite ?? false, job);
        job.itemDone();
      });
    });
  }

  async exportTimelapse(p: RequestParams<'exportTimelapse'>): Promise<ExportStart> {
    return orExisting(async () => {
      const { checkFps, exportTimelapse, timelapseFiles, timelapseFrames } = await import('./timelapse.js');
      checkFps(p.fps, p.format);
      const folder = await checkExportFolder(p.folder, this.#deps.home);
      const run = this.#runs.getRun(p.runId);
      if (!run) throw new ExportNotFoundError(`no run with id ${p.runId}`);
      const grids = this.#runs
        .listSnapshots(p.runId)
        .map((g) => join(this.#deps.home, g.grid))
        .filter((f) => existsSync(f));
      if (grids.length === 0) throw new ExportInputError(`run ${p.runId} has no snapshot grids yet`);
      const baseName = `${slug(run.name)}-timelapse`;
      const frames = (await timelapseFrames(grids, p.format)).length;
      await refuseOverwrite(timelapseFiles(folder, baseName, p.format, frames), p.overwrite ?? false);
      return this.#start('timelapse', 1, folder, async (job) => {
        await exportTimelapse(
          grids,
          { folder, baseName, format: p.format, fps: p.fps, overwrite: p.overwrite ?? false },
          job,
        );
        job.itemDone();
      });
    });
  }

  describeUpscalers(): Record<UpscalerChoice, string> {
    return { ...UPSCALER_DESCRIPTIONS };
  }

  /**
   * How the chosen favourites will print at `options`, one entry per resolution, smallest first
   * (the softest print first). Favourites whose generator file is gone are left out: the export
   * itself says so. Throws PaperError for options no print can have.
   */
  async printAdvice(p: RequestParams<'printAdvice'>): Promise<PrintAdvice[]> {
    const byResolution = new Map<number, number[]>();
    const resolutions = new Map<string, number>(); // a generator file's header is read once
    for (const row of this.#rows(p.favourites)) {
      if (!existsSync(row.generator_path)) continue;
      const size =
        resolutions.get(row.generator_path) ?? (await describeGenerator(row.generator_path)).config.resolution;
      resolutions.set(row.generator_path, size);
      byResolution.set(size, [...(byResolution.get(size) ?? []), row.id]);
    }
    return [...byResolution.entries()]
      .sort(([a], [b]) => a - b)
      .map(([size, ids]) => adviseUpscale(size, ids, p.options));
  }

  /** The job's last progress once it has ended (done, cancelled or failed). */
  async whenDone(jobId: number): Promise<ExportProgress> {
    const job = this.#jobs.get(jobId) ?? this.#ended.get(jobId);
    if (!job) throw new ExportNotFoundError(`no export job with id ${jobId}`);
    await job.whenDone;
    return { ...job.progress };
  }

  cancelExport(jobId: number): ExportProgress {
    const ended = this.#ended.get(jobId);
    if (ended) return { ...ended.progress };
    const job = this.#jobs.get(jobId);
    if (!job) throw new ExportNotFoundError(`no export job with id ${jobId}`);
    job.cancel();
    return job.progress;
  }

  /** Jobs still running (the app waits for them, cancelled, before it closes). */
  async close(): Promise<void> {
    const running = [...this.#jobs.values()];
    for (const job of running) job.cancel();
    await Promise.all(running.map((j) => j.whenDone));
  }

  /**
   * Runs `work` in an export process once the jobs before it have ended, so however many exports
   * are asked for, one process (tfjs, a generator, ESRGAN's activations) is alive at a time. A job
   * cancelled while it waits ends at its turn without starting one.
   */
  #inTurn(job: ExportJob, work: ExportWork): Promise<void> {
    const turn = this.#heavy.then(() => {
      job.signal.throwIfAborted();
      return runInExportProcess(work, job, this.#deps.backend, this.#deps.spawn);
    });
    this.#heavy = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Makes the export folder (everything was checked by now) and starts the job in it. A job that
   * ends without writing anything removes the folders it made, so a failed export leaves nothing.
   */
  async #start(
    kind: ExportKind,
    total: number,
    folder: string,
    work: (job: ExportJob) => Promise<void>,
  ): Promise<ExportStart> {
    const made = await makeExportFolder(folder);
    const job = new ExportJob(this.#nextJob++, kind, total, this.#deps.emit, this.#deps.keyOf);
    this.#jobs.set(job.progress.jobId, job);
    job.whenDone = work(job).then(
      () => removeUnused(job, made).then(() => void job.finish()),
      (err: unknown) => removeUnused(job, made).then(() => void job.finish(err ?? new Error('export failed'))),
    );
    void job.whenDone.finally(() => {
      this.#jobs.delete(job.progress.jobId);
      // The last few ended jobs stay answerable (whenDone, a late cancel), and no more.
      this.#ended.set(job.progress.jobId, job);
      for (const id of this.#ended.keys()) if (this.#ended.size > ENDED_JOBS_KEPT) this.#ended.delete(id);
    });
    return { job: { ...job.progress } };
  }
}

/** The folders a job made, when it wrote nothing into them. */
async function removeUnused(job: ExportJob, made: string[]): Promise<void> {
  if (job.progress.written.length === 0) await removeCreated(made);
}

/** Files in the way and favourites that cannot be drawn become answers (the caller asks the user), not errors. */
async function orExisting(work: () => Promise<ExportStart>): Promise<ExportStart> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ExistsError) return { existing: err.files };
    if (err instanceof MissingGeneratorsError) return { missing: err.missing };
    throw err;
  }
}

/** Favourites whose generator file is gone: said by name, with how to remove them. */
export class MissingGeneratorsError extends Error {
  readonly code = 'not-found';
  constructor(readonly missing: MissingGenerator[]) {
    super(describeMissing(missing));
  }
}

export function describeMissing(missing: MissingGenerator[]): string {
  return (
    missing
      .map((m) => `favourite ${m.favouriteId} (${m.name}): its generator file ${m.generatorPath} is gone`)
      .join('; ') + ' — remove it (plumage favourite remove ID) or restore the file'
  );
}
