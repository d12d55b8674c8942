import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BackendChoice, CropMode, PauseCause, Resolution } from '../common/vocabulary.js';
import type { SourcePreview } from '../common/records.js';
import type {
  AppInfo,
  DatasetSummary,
  EventName,
  PlumageEvents,
  RequestName,
  RunScores,
  RequestParams,
  RequestResult,
  RunSummary,
} from '../../preload/contract.js';
import { SAMPLE_PLATES_CREDIT } from './credits.js';
import type { DatasetIngestor } from './dataset/ingest.js';
import { DatasetService, type IngestReport } from './dataset/service.js';
import { DatasetStore } from './store/datasets.js';
import type { Db } from './store/db.js';
import { openHomeDatabase, prepareHome } from './home.js';
import { exportKey, exportKeys, exportsDir } from './home-layout.js';
import { NotFoundError, UnsupportedError } from './errors.js';
import { exportFile } from './api/downloads.js';
import { acquireHomeLock, type HomeLock } from './home-lock.js';
import { PACKAGE_VERSION } from './version.js';
import { DEFAULT_PAPER } from './paper-colour.js';
import { RunManager, type RunManagerOptions } from './train/run-manager.js';
import { trainFolder, type TrainFolderStep } from './train/train-folder.js';
import { Gallery } from './gallery/gallery.js';
import type { DrawToFolderOptions } from './gallery/draw-to-folder.js';
import { GeneratorClient, defaultLanes } from './gallery/generator-client.js';
import { InProcessRunner } from './gallery/runner.js';
import { ExportService } from './export/service.js';
import { Insight } from './insight/service.js';
import type { SpawnChild } from './util/spawn-child.js';
import { CheckpointScorer } from './insight/checkpoint-scorer.js';
import { scoreInChildProcess } from './insight/score-child.js';
import { ScoreStore } from './store/scores.js';

export { NotFoundError, UnsupportedError, type IngestReport };

export interface StudioOptions {
  home: string;
  /** Folder holding `sample-plates/`. */
  resourcesDir: string;
  shell: AppInfo['shell'];
  /** Keep folders watched after their first pass (the app and server do; one-shot CLI commands do not). */
  watch?: boolean;
  /** Images decoded at once during ingest. */
  concurrency?: number;
  /** ms a watched file must hold still before it is ingested. */
  settleMs?: number;
  /** Test hook, passed to each dataset's ingestor (see IngestorOptions.afterDecode). */
  afterDecode?: (rel: string) => void | Promise<void>;
  /** Training: how trainer processes are started (Electron: utilityProcess), restarts, tick rate. */
  training?: Omit<RunManagerOptions, 'home'>;
  /**
   * Only reads (the CLI's `runs`): takes no lock on the home, so it works beside a running train,
   * and recovers nothing. Everything else owns the home while it is open (see home-lock.ts).
   */
  readOnly?: boolean;
  /** Where the gallery draws: a generator child process (default), or this process (tests). */
  galleryInProcess?: boolean;
  /** The backend the gallery and the exports draw on (the CLI's `--backend`); by default the best one present. */
  backend?: BackendChoice | undefined;
  /** How every child process is started (trainer, generator, export; Electron: utility processes); default: fork. */
  spawn?: SpawnChild | undefined;
  /**
   * Score each checkpoint beside the trainer as it is written, and those left unscored at
   * `resume` (the app and `serve`); off by default, so one-shot commands and tests start no scorer.
   */
  scoreCheckpoints?: boolean;
}

/** Options with no default. */
type OptionalOption =
  'settleMs' | 'concurrency' | 'training' | 'readOnly' | 'afterDecode' | 'backend' | 'spawn' | 'scoreCheckpoints';

export { DEFAULT_PAPER };
/** The requests the core answers; a native folder dialog is the shell's (see api/handler.ts). */
type CoreRequest = Exclude<RequestName, 'pickFolder'>;
/**
 * The API as a typed map: one handler per request the core answers, each typed by that request's
 * params and result in the contract. Studio is this map (its request methods), so the compiler
 * refuses a request without a handler, or a handler that takes or answers the wrong thing.
 */
export type RequestHandlers = { [K in CoreRequest]: (params: RequestParams<K>) => Promise<RequestResult<K>> };
/** Files exports wrote this session that revealFile may show wherever they are (the oldest are forgotten). */
const WRITTEN_KEPT = 10_000;
type StudioEvents = { [E in EventName]: [PlumageEvents[E]] };

/**
 * The one facade over the core: its request methods and events are exactly the contract,
 * and every shell (Electron IPC, the headless server, the CLI) drives it the same way.
 * It knows nothing of Electron.
 */
export class Studio extends EventEmitter<StudioEvents> implements RequestHandlers {
  readonly db: Db;
  readonly datasets: DatasetStore;
  readonly datasetService: DatasetService;
  readonly training: RunManager;
  readonly gallery: Gallery;
  readonly exports: ExportService;
  readonly insight: Insight;
  readonly scorer: CheckpointScorer;
  readonly scores: ScoreStore;
  readonly #opts: Required<Omit<StudioOptions, OptionalOption>> & Pick<StudioOptions, OptionalOption>;
  readonly #lock: HomeLock | null;
  /** Files exports and interpolations wrote while this Studio was open (absolute), oldest first. */
  readonly #written = new Set<string>();

  private constructor(db: Db, opts: StudioOptions, lock: HomeLock | null) {
    super();
    this.db = db;
    this.#lock = lock;
    this.datasets = new DatasetStore(db);
    this.#opts = { watch: true, galleryInProcess: false, ...opts };
    this.training = new RunManager(db, this.datasets, { home: opts.home, spawn: opts.spawn, ...opts.training });
    this.training.on('runChanged', (r) => this.emit('runChanged', r));
    this.training.on('runTick', (t) => this.emit('runTick', t));
    this.training.on('runSnapshot', (s) => this.emit('runSnapshot', s));
    this.datasetService = new DatasetService({
      db,
      home: opts.home,
      store: this.datasets,
      watch: this.#opts.watch,
      concurrency: opts.concurrency,
      settleMs: opts.settleMs,
      afterDecode: opts.afterDecode,
      emit: {
        ingestProgress: (p) => this.emit('ingestProgress', p),
        datasetChanged: (d) => this.emit('datasetChanged', d),
      },
      onChanged: (id) => this.training.datasetChanged(id),
      runsOf: (id) => this.training.listRuns().filter((r) => r.datasetId === id),
    });
    // While a run trains, the gallery draws on one core and leaves the trainer the rest.
    const lanes = (): number => (this.training.runs.listRuns().some((r) => r.state === 'running') ? 1 : defaultLanes());
    const runner = opts.galleryInProcess
      ? new InProcessRunner(opts.backend)
      : new GeneratorClient({ lanes, backend: opts.backend, spawn: opts.spawn });
    this.gallery = new Gallery(db, opts.home, runner, { clearCache: !opts.readOnly });
    this.gallery.on('galleryImage', (e) => this.emit('galleryImage', e));
    this.gallery.on('galleryJob', (e) => this.emit('galleryJob', e));
    this.insight = new Insight(db, opts.home, runner, this.datasets, this.gallery);
    const { datasets, gallery } = this;
    const score = scoreInChildProcess({ db, home: opts.home, datasets, gallery, backend: opts.backend });
    this.scores = new ScoreStore(db, opts.home);
    this.scorer = new CheckpointScorer(this.scores, score, undefined, (c) => !existsSync(c.path));
    this.scorer.on('scored', (s) => this.emit('checkpointScored', s));
    if (opts.scoreCheckpoints) this.training.on('runCheckpoint', (c) => this.scorer.checkpointWritten(c));
    this.exports = new ExportService({
      db,
      home: opts.home,
      datasets: this.datasets,
      emit: (p) => {
        this.#remember(p.written);
        this.emit('exportProgress', p);
      },
      backend: opts.backend,
      spawn: opts.spawn,
      keyOf: (path) => exportKey(opts.home, path),
      birdOf: (row) => this.gallery.favouriteBird(row),
    });
  }

  /**
   * Opens the home (creating it): takes its lock (HomeLockedError while another process owns it),
   * opens its database (DatabaseDamagedError if it is not whole), migrates it, and recovers the
   * runs a process that died left 'running' (they become paused at their last checkpoint). Only
   * the lock makes that recovery safe: no other live process can be training them.
   */
  static open(opts: StudioOptions): Studio {
    prepareHome(opts.home);
    const lock = opts.readOnly ? null : acquireHomeLock(opts.home);
    try {
      const studio = new Studio(openHomeDatabase(opts.home), opts, lock);
      if (lock) studio.training.recoverInterrupted();
      return studio;
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  get home(): string {
    return this.#opts.home;
  }

  get samplesFolder(): string {
    return join(this.#opts.resourcesDir, 'sample-plates');
  }

  /** App start-up: resume watching every dataset whose folder still exists; with none yet, open the samples. */
  async resume(): Promise<void> {
    if (this.#opts.scoreCheckpoints) this.scorer.catchUp();
    if (!(await this.datasetService.resume()))
      await this.openDataset({ folder: this.samplesFolder, resolution: 256, crop: 'centre' });
  }

  /** Validated dispatch, used by the IPC and WebSocket shells. */
  async handle<K extends CoreRequest>(name: K, rawParams: unknown): Promise<RequestResult<K>> {
    // Loaded on first use: one-shot CLI commands never validate IPC input and skip zod's load time.
    const { validateRequest } = await import('./api/validate.js');
    return dispatch(this, name, validateRequest(name, rawParams));
  }

  async getAppInfo(): Promise<AppInfo> {
    await this.training.backendKnown(); // whether a WebGPU adapter is there decides which presets fit
    return {
      name: 'Plumage',
      version: PACKAGE_VERSION,
      home: this.home,
      shell: this.#opts.shell,
      nativeFolderDialog: this.#opts.shell === 'electron',
      samplesFolder: this.samplesFolder,
      exportsFolder: exportsDir(resolve(this.home)),
      credit: SAMPLE_PLATES_CREDIT,
      training: this.training.capacity(),
    };
  }

  // ── datasets (DatasetService does the work) ──

  async listDatasets(): Promise<DatasetSummary[]> {
    return this.datasetService.listDatasets();
  }
  async getDataset(p: RequestParams<'getDataset'>): Promise<DatasetSummary> {
    return this.datasetService.getDataset(p);
  }
  /** Starts (or re-starts) ingesting and watching a folder; returns at once, progress follows as events. */
  async openDataset(p: RequestParams<'openDataset'>): Promise<DatasetSummary> {
    return this.datasetService.openDataset(p);
  }
  async listSources(p: RequestParams<'listSources'>): Promise<RequestResult<'listSources'>> {
    return this.datasetService.listSources(p);
  }
  async cancelIngest(p: RequestParams<'cancelIngest'>): Promise<DatasetSummary> {
    return this.datasetService.cancelIngest(p);
  }
  async forgetDataset(p: RequestParams<'forgetDataset'>): Promise<DatasetSummary[]> {
    return this.datasetService.forgetDataset(p);
  }
  async previewSource(p: RequestParams<'previewSource'>): Promise<SourcePreview> {
    return this.datasetService.previewSource(p);
  }

  /** Shell-specific (native dialog); the core has none. */
  async pickFolder(): Promise<string | null> {
    throw new UnsupportedError('no native folder dialog here: type the folder path instead');
  }

  /**
   * The core's half of revealFile: which file the shell may show in the file manager. Only a
   * file an export wrote: one in the home's exports/ (links followed), or one written elsewhere
   * by an export of this session. The shell does the showing; without one (the server) the
   * request ends in handleRequest with a pointer to the download instead.
   */
  async revealFile({ path }: RequestParams<'revealFile'>): Promise<string> {
    const abs = resolve(path);
    if (!(await stat(abs).catch(() => null))?.isFile()) throw new NotFoundError(`no such file: ${abs}`);
    const key = exportKey(this.home, abs);
    if (this.#written.has(abs) || (key !== null && (await exportFile(this.home, key)) !== null)) return abs;
    throw new UnsupportedError(`Plumage shows only the files its exports wrote, and ${abs} is not one of them`);
  }

  #remember(paths: string[]): void {
    for (const p of paths) {
      this.#written.delete(p);
      this.#written.add(p);
    }
    for (const p of this.#written) {
      if (this.#written.size <= WRITTEN_KEPT) break;
      this.#written.delete(p);
    }
  }

  // ── training runs (RunManager does the work) ──

  async listRuns(): Promise<RequestResult<'listRuns'>> {
    return this.training.listRuns();
  }
  async getRun({ runId }: { runId: number }): Promise<RequestResult<'getRun'>> {
    return this.training.getRun(runId);
  }
  async createRun(p: RequestParams<'createRun'>): Promise<RequestResult<'createRun'>> {
    return this.training.createRun(p);
  }
  async startRun({ runId }: { runId: number }): Promise<RequestResult<'startRun'>> {
    return this.training.startRun(runId);
  }
  /** `cause`: in-process only, what paused it when no one pressed Pause (`plumage train`'s Ctrl-C is 'cli'). */
  async pauseRun({ runId }: { runId: number }, cause: PauseCause | null = null): Promise<RequestResult<'pauseRun'>> {
    return this.training.pauseRun(runId, cause);
  }
  async stopRun({ runId }: { runId: number }): Promise<RequestResult<'stopRun'>> {
    return this.training.stopRun(runId);
  }
  async snapshotRun({ runId }: { runId: number }): Promise<RequestResult<'snapshotRun'>> {
    return this.training.snapshotRun(runId);
  }
  /** A run its favourites point to goes only with `confirm`, and takes them with it (see previewDeleteRun). */
  async deleteRun({ runId, confirm }: RequestParams<'deleteRun'>): Promise<RequestResult<'deleteRun'>> {
    const favs = this.gallery.favouritesOfRun(runId);
    if (favs.length > 0 && !confirm) throw new FavouritesInTheWayError(runId, favs);
    return this.training.deleteRun(runId, () => this.gallery.removeFavouritesOfRun(runId));
  }
  /** "Train this folder" (train/train-folder.ts); `onStep` hears each decision as it is made. */
  async trainFolder(
    p: RequestParams<'trainFolder'>,
    onStep?: (s: TrainFolderStep) => void,
  ): Promise<RequestResult<'trainFolder'>> {
    return trainFolder({ datasets: this.datasetService, runs: this.training }, p, onStep);
  }
  async listTicks({ runId, afterId, maxPoints }: RequestParams<'listTicks'>): Promise<RequestResult<'listTicks'>> {
    return this.training.listTicks(runId, afterId, maxPoints);
  }

  // ── gallery (Gallery does the work) ──

  async openGenerator(p: RequestParams<'openGenerator'>): Promise<RequestResult<'openGenerator'>> {
    return this.gallery.openGenerator(p);
  }
  async generate(p: RequestParams<'generate'>): Promise<RequestResult<'generate'>> {
    return this.gallery.generate(p);
  }
  async cancelGeneration({ jobId }: RequestParams<'cancelGeneration'>): Promise<boolean> {
    return this.gallery.cancel(jobId);
  }
  async addFavourite(p: RequestParams<'addFavourite'>): Promise<RequestResult<'addFavourite'>> {
    return this.gallery.addFavourite(p);
  }
  async listFavourites(p: RequestParams<'listFavourites'>): Promise<RequestResult<'listFavourites'>> {
    return this.gallery.listFavourites(p);
  }
  async updateFavourite({ id, ...f }: RequestParams<'updateFavourite'>): Promise<RequestResult<'updateFavourite'>> {
    return this.gallery.updateFavourite(id, f);
  }
  async getFavourite({ id }: RequestParams<'getFavourite'>): Promise<RequestResult<'getFavourite'>> {
    return this.gallery.getFavourite(id);
  }
  async removeFavourite({ id }: RequestParams<'removeFavourite'>): Promise<boolean> {
    return this.gallery.removeFavourite(id);
  }
  async renderFavourite({ id }: RequestParams<'renderFavourite'>): Promise<RequestResult<'renderFavourite'>> {
    return this.gallery.renderFavourite(id);
  }
  async suggestName({ seed, mixSeed }: RequestParams<'suggestName'>): Promise<string> {
    return this.gallery.suggestName(seed, mixSeed);
  }
  async interpolate(p: RequestParams<'interpolate'>): Promise<RequestResult<'interpolate'>> {
    const result = await this.gallery.interpolate(p);
    if (p.format !== 'strip') this.#remember(result.files);
    return { ...result, downloads: exportKeys(this.home, result.files) };
  }
  /** `opts` (in-process only): the CLI's Ctrl-C (`signal`) and progress line. */
  async generateFiles(
    p: RequestParams<'generateFiles'>,
    opts?: DrawToFolderOptions,
  ): Promise<RequestResult<'generateFiles'>> {
    const result = await this.gallery.generateFiles(p, opts);
    this.#remember(result.files);
    return result;
  }
  async previewDeleteRun({ runId }: RequestParams<'previewDeleteRun'>): Promise<RequestResult<'previewDeleteRun'>> {
    return { favourites: this.gallery.favouritesOfRun(runId) };
  }

  // ── seeing into the model (Insight does the work) ──

  /** `onProgress` (in-process only): the CLI's progress line. */
  async computeMetrics(
    p: RequestParams<'computeMetrics'>,
    onProgress?: Parameters<Insight['computeMetrics']>[1],
  ): Promise<RequestResult<'computeMetrics'>> {
    return this.insight.computeMetrics(p, onProgress);
  }
  async listCheckpointScores({ runId }: RequestParams<'listCheckpointScores'>): Promise<RunScores[]> {
    return this.insight.listCheckpointScores(runId);
  }
  async findNearest(p: RequestParams<'findNearest'>): Promise<RequestResult<'findNearest'>> {
    return this.insight.findNearest(p);
  }
  async computeDirections(p: RequestParams<'computeDirections'>): Promise<RequestResult<'computeDirections'>> {
    return this.insight.computeDirections(p);
  }
  async projectImage(
    p: RequestParams<'projectImage'>,
    onProgress?: (e: PlumageEvents['projectProgress']) => void,
  ): Promise<RequestResult<'projectImage'>> {
    return this.insight.projectImage(p, (e) => {
      this.emit('projectProgress', e);
      onProgress?.(e);
    });
  }
  async cancelProjection({ jobId }: RequestParams<'cancelProjection'>): Promise<boolean> {
    return this.insight.cancelProjection(jobId);
  }

  // ── exports (ExportService does the work) ──

  async exportPrints(p: RequestParams<'exportPrints'>): Promise<RequestResult<'exportPrints'>> {
    return this.exports.exportPrints(p);
  }
  async exportContactSheet(p: RequestParams<'exportContactSheet'>): Promise<RequestResult<'exportContactSheet'>> {
    return this.exports.exportContactSheet(p);
  }
  async exportDataset(p: RequestParams<'exportDataset'>): Promise<RequestResult<'exportDataset'>> {
    return this.exports.exportDataset(p);
  }
  async exportTimelapse(p: RequestParams<'exportTimelapse'>): Promise<RequestResult<'exportTimelapse'>> {
    return this.exports.exportTimelapse(p);
  }
  async cancelExport({ jobId }: RequestParams<'cancelExport'>): Promise<RequestResult<'cancelExport'>> {
    return this.exports.cancelExport(jobId);
  }
  async describeUpscalers(): Promise<RequestResult<'describeUpscalers'>> {
    return this.exports.describeUpscalers();
  }
  async printAdvice(p: RequestParams<'printAdvice'>): Promise<RequestResult<'printAdvice'>> {
    return this.exports.printAdvice(p);
  }

  /** One full pass without watching (the CLI's `ingest`). */
  async ingestOnce(folder: string, resolution: Resolution, crop: CropMode): Promise<IngestReport> {
    return this.datasetService.ingestOnce(folder, resolution, crop);
  }

  /** The live ingestor of a dataset (tests and the trainer wait on it). */
  ingestor(datasetId: number): DatasetIngestor | undefined {
    return this.datasetService.ingestor(datasetId);
  }

  /** Starts the gallery's drawing process ahead of its first request (the app and the server, at start-up). */
  async warmUp(): Promise<void> {
    await this.gallery.warmUp();
  }

  /**
   * Pauses every running run with a checkpoint, saying which as each pause is asked for (`serve`
   * stopping); resolves to the runs paused. `close` does the same, silently.
   */
  async pauseAll(cause: PauseCause, onPausing?: (run: RunSummary) => void): Promise<RunSummary[]> {
    return this.training.pauseAll(cause, onPausing);
  }

  /**
   * Closes the home. Quitting is a pause: running runs write a checkpoint, and the next start
   * offers Resume and says what paused them (`cause`; by default the shell: the app or the server).
   */
  async close(cause: PauseCause = this.#opts.shell === 'electron' ? 'app' : 'server'): Promise<void> {
    await this.scorer.close(); // first: a score in flight never holds up a quit (catchUp redoes it next start)
    await this.training.pauseAll(cause);
    await this.gallery.close();
    await this.exports.close();
    await this.datasetService.close();
    this.db.close();
    this.#lock?.release();
  }
}

/** The request's handler in the map, called with its params: typed end to end, no cast. */
function dispatch<K extends CoreRequest>(
  handlers: RequestHandlers,
  name: K,
  params: RequestParams<K>,
): Promise<RequestResult<K>> {
  return handlers[name](params);
}

/** deleteRun without `confirm` while favourites point at the run: says which would go. */
export class FavouritesInTheWayError extends Error {
  readonly code = 'invalid-input';
  constructor(runId: number, favs: { id: number; name: string }[]) {
    const list = favs.map((f) => `#${f.id} "${f.name}"`).join(', ');
    super(
      `run #${runId} has ${favs.length} favourite${favs.length === 1 ? '' : 's'} (${list}); deleting the run ` +
        `removes ${favs.length === 1 ? 'it' : 'them'} too. Confirm to delete the run and ` +
        `${favs.length === 1 ? 'that favourite' : 'those favourites'}.`,
    );
  }
}
