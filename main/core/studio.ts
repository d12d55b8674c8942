import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BackendChoice, CropMode, PauseCause, Resolution } from '../common/vocabulary.js';
import type { IngestProgress, SourcePreview } from '../common/records.js';
import type {
  AppInfo,
  DatasetSummary,
  EventName,
  PlumageEvents,
  RequestName,
  RequestParams,
  RequestResult,
} from '../../preload/contract.js';
import { SAMPLE_PLATES_CREDIT } from './credits.js';
import { DatasetIngestor } from './dataset/ingest.js';
import { whyNotDatasetFolder } from './dataset/scan.js';
import { forgetDatasetFiles } from './dataset/forget.js';
import { previewSource } from './dataset/preview.js';
import { datasetFolder, folderProblem } from './folders.js';
import { DatasetStore, type DatasetRow } from './store/datasets.js';
import type { Db } from './store/db.js';
import { openHomeDatabase, prepareHome } from './home.js';
import { datasetCacheFile, datasetIdsOnDisk, exportKey, exportKeys, exportsDir } from './home-layout.js';
import { exportFile } from './api/downloads.js';
import { acquireHomeLock, type HomeLock } from './home-lock.js';
import { PACKAGE_VERSION } from './version.js';
import { DEFAULT_PAPER } from './paper-colour.js';
import { RunManager, type RunManagerOptions } from './train/run-manager.js';
import { Gallery } from './gallery/gallery.js';
import { GeneratorClient, defaultLanes } from './gallery/generator-client.js';
import { InProcessRunner } from './gallery/runner.js';
import { ExportService } from './export/service.js';
import { Insight } from './insight/service.js';

export class NotFoundError extends Error {
  readonly code = 'not-found';
}
export class UnsupportedError extends Error {
  readonly code = 'unsupported';
}

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
}

/** Options with no default. */
type OptionalOption = 'settleMs' | 'concurrency' | 'training' | 'readOnly' | 'afterDecode' | 'backend';

export { DEFAULT_PAPER };
const CHANGE_THROTTLE_MS = 250;

type CoreRequest = Exclude<RequestName, 'pickFolder'>;
/** Files exports wrote this session that revealFile may show wherever they are (the oldest are forgotten). */
const WRITTEN_KEPT = 10_000;
type StudioEvents = { [E in EventName]: [PlumageEvents[E]] };

export interface IngestReport {
  dataset: string;
  resolution: Resolution;
  crop: CropMode;
  accepted: { file: string; width: number; height: number }[];
  rejected: { file: string; reason: string }[];
  duplicates: { file: string; of: string }[];
  seconds: number;
}

/**
 * The one facade over the core: its request methods and events are exactly the contract,
 * and every shell (Electron IPC, the headless server, the CLI) drives it the same way.
 * It knows nothing of Electron.
 */
export class Studio extends EventEmitter<StudioEvents> {
  readonly db: Db;
  readonly datasets: DatasetStore;
  readonly training: RunManager;
  readonly gallery: Gallery;
  readonly exports: ExportService;
  readonly insight: Insight;
  readonly #opts: Required<Omit<StudioOptions, OptionalOption>> & Pick<StudioOptions, OptionalOption>;
  readonly #lock: HomeLock | null;
  readonly #ingestors = new Map<number, DatasetIngestor>();
  readonly #changeTimers = new Map<number, NodeJS.Timeout>();
  /** Files exports and interpolations wrote while this Studio was open (absolute), oldest first. */
  readonly #written = new Set<string>();

  private constructor(db: Db, opts: StudioOptions, lock: HomeLock | null) {
    super();
    this.db = db;
    this.#lock = lock;
    this.datasets = new DatasetStore(db);
    this.#opts = { watch: true, galleryInProcess: false, ...opts };
    this.training = new RunManager(db, this.datasets, { home: opts.home, ...opts.training });
    this.training.on('runChanged', (r) => this.emit('runChanged', r));
    this.training.on('runTick', (t) => this.emit('runTick', t));
    this.training.on('runSnapshot', (s) => this.emit('runSnapshot', s));
    // While a run trains, the gallery draws on one core and leaves the trainer the rest.
    const lanes = (): number => (this.training.runs.listRuns().some((r) => r.state === 'running') ? 1 : defaultLanes());
    const runner = opts.galleryInProcess
      ? new InProcessRunner(opts.backend)
      : new GeneratorClient({ lanes, backend: opts.backend });
    this.gallery = new Gallery(db, opts.home, runner, { clearCache: !opts.readOnly });
    this.gallery.on('galleryImage', (e) => this.emit('galleryImage', e));
    this.gallery.on('galleryJob', (e) => this.emit('galleryJob', e));
    this.insight = new Insight(db, opts.home, runner, this.datasets, this.gallery);
    this.exports = new ExportService({
      db,
      home: opts.home,
      datasets: this.datasets,
      emit: (p) => {
        this.#remember(p.written);
        this.emit('exportProgress', p);
      },
      backend: opts.backend,
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
    const rows = this.datasets.listDatasets();
    if (rows.length === 0) {
      await this.openDataset({ folder: this.samplesFolder, resolution: 256, crop: 'centre' });
      return;
    }
    for (const row of rows) {
      if ((await folderProblem(row.folder)) === null) this.#startIngestor(row);
    }
  }

  /** Validated dispatch, used by the IPC and WebSocket shells. */
  async handle<K extends CoreRequest>(name: K, rawParams: unknown): Promise<RequestResult<K>> {
    // Loaded on first use: one-shot CLI commands never validate IPC input and skip zod's load time.
    const { validateRequest } = await import('./api/validate.js');
    const params = validateRequest(name, rawParams);
    const method = (this as unknown as Record<K, (p: RequestParams<K>) => Promise<RequestResult<K>>>)[name];
    return method.call(this, params);
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

  async listDatasets(): Promise<DatasetSummary[]> {
    return this.datasets.listDatasets().map((r) => this.#summary(r));
  }

  async getDataset({ datasetId }: { datasetId: number }): Promise<DatasetSummary> {
    return this.#summary(this.#row(datasetId));
  }

  /** Starts (or re-starts) ingesting and watching a folder; returns at once, progress follows as events. */
  async openDataset({ folder, resolution, crop }: RequestParams<'openDataset'>): Promise<DatasetSummary> {
    const problem = await folderProblem(folder);
    if (problem) throw new NotFoundError(problem);
    const abs = await datasetFolder(folder);
    await refuseFolder(abs);
    const row = this.#ensureDataset(abs, resolution, crop);
    const running = this.#ingestors.get(row.id);
    const phase = running?.progress.phase;
    if (!running || phase === 'cancelled' || phase === 'stopped' || phase === 'error') this.#startIngestor(row);
    return this.#summary(row);
  }

  async listSources(p: RequestParams<'listSources'>): Promise<RequestResult<'listSources'>> {
    this.#row(p.datasetId);
    return { offset: p.offset, ...this.datasets.pageSources(p.datasetId, p.status, p.offset, p.limit) };
  }

  async cancelIngest({ datasetId }: { datasetId: number }): Promise<DatasetSummary> {
    const row = this.#row(datasetId);
    await this.#ingestors.get(datasetId)?.cancel();
    return this.#summary(row);
  }

  async forgetDataset({ datasetId }: { datasetId: number }): Promise<DatasetSummary[]> {
    const row = this.#row(datasetId);
    // Any run blocks it, finished or not: a run's record (its checkpoints, its favourites) goes
    // with its dataset's, so forgetting would delete the run too (docs/DECISIONS.md).
    const runs = this.training.listRuns().filter((r) => r.datasetId === datasetId);
    if (runs.length > 0)
      throw new UnsupportedError(
        `${runs.length === 1 ? 'run' : 'runs'} ${runs.map((r) => `#${r.id} (${r.state})`).join(', ')} ` +
          `${runs.length === 1 ? 'was' : 'were'} trained on this dataset, and ${runs.length === 1 ? 'its' : 'their'} ` +
          `record${runs.length === 1 ? '' : 's'} and checkpoints go with it: delete ` +
          `${runs.length === 1 ? 'that run' : 'those runs'} first to forget it`,
      );
    await forgetDatasetFiles(this.home, row, this.#ingestors.get(datasetId));
    this.#ingestors.delete(datasetId);
    clearTimeout(this.#changeTimers.get(datasetId));
    this.#changeTimers.delete(datasetId);
    this.datasets.deleteDataset(datasetId);
    return this.listDatasets();
  }

  async previewSource({ datasetId, sourceId }: { datasetId: number; sourceId: number }): Promise<SourcePreview> {
    const row = this.#row(datasetId);
    const src = this.datasets.getSourceById(datasetId, sourceId);
    if (!src) throw new NotFoundError(`no file with id ${sourceId} in dataset ${datasetId}`);
    return previewSource(this.home, row, src);
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
  async pauseRun({ runId }: { runId: number }): Promise<RequestResult<'pauseRun'>> {
    return this.training.pauseRun(runId);
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
  async previewDeleteRun({ runId }: RequestParams<'previewDeleteRun'>): Promise<RequestResult<'previewDeleteRun'>> {
    return { favourites: this.gallery.favouritesOfRun(runId) };
  }

  // ── seeing into the model (Insight does the work) ──

  async computeMetrics(p: RequestParams<'computeMetrics'>): Promise<RequestResult<'computeMetrics'>> {
    return this.insight.computeMetrics(p);
  }
  async findNearest(p: RequestParams<'findNearest'>): Promise<RequestResult<'findNearest'>> {
    return this.insight.findNearest(p);
  }
  async computeDirections(p: RequestParams<'computeDirections'>): Promise<RequestResult<'computeDirections'>> {
    return this.insight.computeDirections(p);
  }
  async projectImage(p: RequestParams<'projectImage'>): Promise<RequestResult<'projectImage'>> {
    return this.insight.projectImage(p, (e) => this.emit('projectProgress', e));
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
    const started = performance.now();
    const problem = await folderProblem(folder);
    if (problem) throw new NotFoundError(problem);
    const abs = await datasetFolder(folder);
    await refuseFolder(abs);
    const row = this.#ensureDataset(abs, resolution, crop);
    const ingestor = this.#ingestorFor(row);
    await ingestor.start({ watch: false });
    await ingestor.whenIdle();
    // A pass that could not finish (its folder vanished, a write failed) is never a quiet success.
    const { phase, error } = ingestor.progress;
    if (phase === 'error') throw new Error(`ingest of ${abs} did not finish: ${error ?? 'unknown error'}`);
    const report: IngestReport = {
      dataset: abs,
      resolution,
      crop,
      accepted: [],
      rejected: [],
      duplicates: [],
      seconds: 0,
    };
    for (const s of this.datasets.listAllSources(row.id).sort((a, b) => (a.path < b.path ? -1 : 1))) {
      if (s.status === 'accepted') report.accepted.push({ file: s.path, width: s.width!, height: s.height! });
      else if (s.status === 'rejected') report.rejected.push({ file: s.path, reason: s.reason ?? 'rejected' });
      else report.duplicates.push({ file: s.path, of: s.duplicate_of! });
    }
    report.seconds = Math.round((performance.now() - started) / 10) / 100;
    return report;
  }

  /** The live ingestor of a dataset (tests and the trainer wait on it). */
  ingestor(datasetId: number): DatasetIngestor | undefined {
    return this.#ingestors.get(datasetId);
  }

  /**
   * Closes the home. Quitting is a pause: running runs write a checkpoint, and the next start
   * offers Resume and says what paused them (`cause`; by default the shell: the app or the server).
   */
  async close(cause: PauseCause = this.#opts.shell === 'electron' ? 'app' : 'server'): Promise<void> {
    await this.training.pauseAll(cause);
    await this.gallery.close();
    await this.exports.close();
    for (const t of this.#changeTimers.values()) clearTimeout(t);
    await Promise.all([...this.#ingestors.values()].map((i) => i.close()));
    this.#ingestors.clear();
    this.db.close();
    this.#lock?.release();
  }

  #ensureDataset(folder: string, resolution: Resolution, crop: CropMode): DatasetRow {
    const onDisk = datasetIdsOnDisk(this.home);
    return this.datasets.ensureDataset(folder, resolution, crop, DEFAULT_PAPER, (onDisk.at(-1) ?? 0) + 1);
  }

  #row(datasetId: number): DatasetRow {
    const row = this.datasets.getDataset(datasetId);
    if (!row) throw new NotFoundError(`no dataset with id ${datasetId}`);
    return row;
  }

  #summary(row: DatasetRow): DatasetSummary {
    const live = this.#ingestors.get(row.id)?.progress;
    const progress: IngestProgress = live ?? {
      datasetId: row.id,
      phase: 'stopped',
      done: 0,
      total: 0,
      rate: 0,
      etaSeconds: null,
    };
    return {
      id: row.id,
      folder: row.folder,
      resolution: row.resolution,
      crop: row.crop,
      counts: this.datasets.countSources(row.id),
      progress,
      cacheFile: datasetCacheFile(this.home, row),
    };
  }

  #ingestorFor(row: DatasetRow): DatasetIngestor {
    let ingestor = this.#ingestors.get(row.id);
    if (ingestor) return ingestor;
    ingestor = new DatasetIngestor(this.datasets, row, {
      home: this.home,
      ...(this.#opts.concurrency ? { concurrency: this.#opts.concurrency } : {}),
      ...(this.#opts.settleMs !== undefined ? { settleMs: this.#opts.settleMs } : {}),
      ...(this.#opts.afterDecode ? { afterDecode: this.#opts.afterDecode } : {}),
    });
    ingestor.on('progress', (p) => this.emit('ingestProgress', p));
    ingestor.on('changed', () => this.#scheduleChanged(row.id));
    this.#ingestors.set(row.id, ingestor);
    return ingestor;
  }

  #startIngestor(row: DatasetRow): void {
    const ingestor = this.#ingestorFor(row);
    ingestor.start({ watch: this.#opts.watch }).catch((err: Error) => {
      this.emit('ingestProgress', { ...ingestor.progress, phase: 'error', error: err.message });
    });
  }

  /** Coalesces per-file changes into at most one `datasetChanged` every 250 ms. */
  #scheduleChanged(datasetId: number): void {
    if (this.#changeTimers.has(datasetId)) return;
    this.#changeTimers.set(
      datasetId,
      setTimeout(() => {
        this.#changeTimers.delete(datasetId);
        if (!this.db.open) return;
        try {
          const row = this.datasets.getDataset(datasetId);
          if (!row) return;
          this.emit('datasetChanged', this.#summary(row));
          this.training.datasetChanged(datasetId);
        } catch (err) {
          // A timer has no caller to throw to: a database that fails under it (damaged, full)
          // is reported as the dataset's error instead of ending the process.
          const ingestor = this.#ingestors.get(datasetId);
          if (ingestor)
            this.emit('ingestProgress', { ...ingestor.progress, phase: 'error', error: (err as Error).message });
          else console.error(`plumage: dataset ${datasetId} changed, and reading it failed: ${(err as Error).message}`);
        }
      }, CHANGE_THROTTLE_MS),
    );
  }
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

/** Refuses the filesystem root and pseudo-filesystems before anything is written for them. */
async function refuseFolder(abs: string): Promise<void> {
  const reason = await whyNotDatasetFolder(abs);
  if (reason) throw new UnsupportedError(reason);
}
