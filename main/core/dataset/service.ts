/**
 * The dataset service: folders opened as datasets, their ingestors (one per dataset, watching
 * when the shell keeps folders watched), their summaries and pages, and forgetting one. It sits
 * beside the run, gallery, export and insight services behind the Studio facade.
 */
import type { CropMode, IngestPhase, Resolution } from '../../common/vocabulary.js';
import type { IngestProgress, SourcePreview } from '../../common/records.js';
import type { DatasetSummary, RequestParams, RequestResult } from '../../../preload/contract.js';
import { DatasetIngestor } from './ingest.js';
import { whyNotDatasetFolder } from './scan.js';
import { forgetDatasetFiles } from './forget.js';
import { previewSource } from './preview.js';
import { datasetFolder, folderProblem } from '../folders.js';
import { DatasetStore, type DatasetRow } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import { datasetCacheFile, datasetIdsOnDisk } from '../home-layout.js';
import { DEFAULT_PAPER } from '../paper-colour.js';
import { NotFoundError, UnsupportedError } from '../errors.js';

const CHANGE_THROTTLE_MS = 250;

export interface IngestReport {
  dataset: string;
  resolution: Resolution;
  crop: CropMode;
  accepted: { file: string; width: number; height: number }[];
  rejected: { file: string; reason: string }[];
  duplicates: { file: string; of: string }[];
  seconds: number;
}

export interface DatasetServiceOptions {
  db: Db;
  home: string;
  store: DatasetStore;
  /** Keep folders watched after their first pass. */
  watch: boolean;
  concurrency?: number | undefined;
  settleMs?: number | undefined;
  afterDecode?: ((rel: string) => void | Promise<void>) | undefined;
  /** Where the service's events go (the facade re-emits them to every shell). */
  emit: {
    ingestProgress: (p: IngestProgress) => void;
    datasetChanged: (d: DatasetSummary) => void;
  };
  /** A dataset's files changed (the run service hears it: a running run's sampler refreshes). */
  onChanged: (datasetId: number) => void;
  /** Runs trained on a dataset: any of them blocks forgetting it. */
  runsOf: (datasetId: number) => { id: number; state: string }[];
}

/** An ingestor in these phases is at work or watching: its pass is waited on, never started again. */
const LIVE_PHASES: ReadonlySet<IngestPhase> = new Set(['scanning', 'ingesting', 'watching']);

export class DatasetService {
  readonly store: DatasetStore;
  readonly #o: DatasetServiceOptions;
  readonly #ingestors = new Map<number, DatasetIngestor>();
  readonly #changeTimers = new Map<number, NodeJS.Timeout>();
  /** Each dataset's full pass while it is under way (started by #startIngestor). */
  readonly #passes = new Map<number, Promise<void>>();

  constructor(opts: DatasetServiceOptions) {
    this.#o = opts;
    this.store = opts.store;
  }

  get #home(): string {
    return this.#o.home;
  }

  /** Starts watching every dataset whose folder still exists; false when there is none at all. */
  async resume(): Promise<boolean> {
    const rows = this.store.listDatasets();
    if (rows.length === 0) return false;
    for (const row of rows) {
      if ((await folderProblem(row.folder)) === null) this.#startIngestor(row);
    }
    return true;
  }

  async listDatasets(): Promise<DatasetSummary[]> {
    return this.store.listDatasets().map((r) => this.#summary(r));
  }

  async getDataset({ datasetId }: RequestParams<'getDataset'>): Promise<DatasetSummary> {
    return this.#summary(this.#row(datasetId));
  }

  /** Starts (or re-starts) ingesting and watching a folder; returns at once, progress follows as events. */
  async openDataset({ folder, resolution, crop }: RequestParams<'openDataset'>): Promise<DatasetSummary> {
    const abs = await this.#checkedFolder(folder);
    const row = this.#ensureDataset(abs, resolution, crop);
    const running = this.#ingestors.get(row.id);
    const phase = running?.progress.phase;
    if (!running || phase === 'cancelled' || phase === 'stopped' || phase === 'error') this.#startIngestor(row);
    return this.#summary(row);
  }

  async listSources(p: RequestParams<'listSources'>): Promise<RequestResult<'listSources'>> {
    this.#row(p.datasetId);
    return { offset: p.offset, ...this.store.pageSources(p.datasetId, p.status, p.offset, p.limit) };
  }

  async cancelIngest({ datasetId }: RequestParams<'cancelIngest'>): Promise<DatasetSummary> {
    const row = this.#row(datasetId);
    await this.#ingestors.get(datasetId)?.cancel();
    return this.#summary(row);
  }

  async forgetDataset({ datasetId }: RequestParams<'forgetDataset'>): Promise<DatasetSummary[]> {
    const row = this.#row(datasetId);
    // Any run blocks it, finished or not: a run's record (its checkpoints, its favourites) goes
    // with its dataset's, so forgetting would delete the run too (docs/DECISIONS.md).
    const runs = this.#o.runsOf(datasetId);
    if (runs.length > 0)
      throw new UnsupportedError(
        `${runs.length === 1 ? 'run' : 'runs'} ${runs.map((r) => `#${r.id} (${r.state})`).join(', ')} ` +
          `${runs.length === 1 ? 'was' : 'were'} trained on this dataset, and ${runs.length === 1 ? 'its' : 'their'} ` +
          `record${runs.length === 1 ? '' : 's'} and checkpoints go with it: delete ` +
          `${runs.length === 1 ? 'that run' : 'those runs'} first to forget it`,
      );
    await forgetDatasetFiles(this.#home, row, this.#ingestors.get(datasetId));
    this.#ingestors.delete(datasetId);
    clearTimeout(this.#changeTimers.get(datasetId));
    this.#changeTimers.delete(datasetId);
    this.store.deleteDataset(datasetId);
    return this.listDatasets();
  }

  async previewSource({ datasetId, sourceId }: RequestParams<'previewSource'>): Promise<SourcePreview> {
    const row = this.#row(datasetId);
    const src = this.store.getSourceById(datasetId, sourceId);
    if (!src) throw new NotFoundError(`no file with id ${sourceId} in dataset ${datasetId}`);
    return previewSource(this.#home, row, src);
  }

  /**
   * Brings the dataset's cache up to date and reports it (the CLI's `ingest`, and "train this
   * folder"). A dataset this studio already has in hand (watched in the app, or a pass under way)
   * is waited on, not ingested again: a second pass would restart its ingestor and leave its
   * watcher's changes unheard. Otherwise one full pass, watched after where this studio watches.
   */
  async ingestOnce(folder: string, resolution: Resolution, crop: CropMode): Promise<IngestReport> {
    const started = performance.now();
    const abs = await this.#checkedFolder(folder);
    const row = this.#ensureDataset(abs, resolution, crop);
    const ingestor = this.#ingestorFor(row);
    if (!this.#passes.has(row.id) && !LIVE_PHASES.has(ingestor.progress.phase)) this.#startIngestor(row);
    await this.#passes.get(row.id);
    await ingestor.whenIdle();
    // A pass that could not finish (its folder vanished, a write failed) is never a quiet success.
    const { phase, error } = ingestor.progress;
    if (phase === 'error') throw new Error(`ingest of ${abs} did not finish: ${error ?? 'unknown error'}`);
    return this.cachedReport(row, Math.round((performance.now() - started) / 10) / 100);
  }

  /** What the dataset's cache holds, as an ingest report, without a pass (its folder may be gone). */
  cachedReport(row: DatasetRow, seconds = 0): IngestReport {
    const report: IngestReport = {
      dataset: row.folder,
      resolution: row.resolution,
      crop: row.crop,
      accepted: [],
      rejected: [],
      duplicates: [],
      seconds,
    };
    for (const s of this.store.listAllSources(row.id).sort((a, b) => (a.path < b.path ? -1 : 1))) {
      if (s.status === 'accepted') report.accepted.push({ file: s.path, width: s.width!, height: s.height! });
      else if (s.status === 'rejected') report.rejected.push({ file: s.path, reason: s.reason ?? 'rejected' });
      else report.duplicates.push({ file: s.path, of: s.duplicate_of! });
    }
    return report;
  }

  /** The live ingestor of a dataset (tests and the trainer wait on it). */
  ingestor(datasetId: number): DatasetIngestor | undefined {
    return this.#ingestors.get(datasetId);
  }

  async close(): Promise<void> {
    for (const t of this.#changeTimers.values()) clearTimeout(t);
    await Promise.all([...this.#ingestors.values()].map((i) => i.close()));
    this.#ingestors.clear();
  }

  /** The folder as a dataset's: it exists, it is a directory, and it is not the root or a pseudo-filesystem. */
  async #checkedFolder(folder: string): Promise<string> {
    const problem = await folderProblem(folder);
    if (problem) throw new NotFoundError(problem);
    const abs = await datasetFolder(folder);
    // Refused before anything is written for it.
    const reason = await whyNotDatasetFolder(abs);
    if (reason) throw new UnsupportedError(reason);
    return abs;
  }

  #ensureDataset(folder: string, resolution: Resolution, crop: CropMode): DatasetRow {
    const onDisk = datasetIdsOnDisk(this.#home);
    return this.store.ensureDataset(folder, resolution, crop, DEFAULT_PAPER, (onDisk.at(-1) ?? 0) + 1);
  }

  #row(datasetId: number): DatasetRow {
    const row = this.store.getDataset(datasetId);
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
      counts: this.store.countSources(row.id),
      progress,
      cacheFile: datasetCacheFile(this.#home, row),
    };
  }

  #ingestorFor(row: DatasetRow): DatasetIngestor {
    let ingestor = this.#ingestors.get(row.id);
    if (ingestor) return ingestor;
    const o = this.#o;
    ingestor = new DatasetIngestor(this.store, row, {
      home: this.#home,
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.settleMs !== undefined ? { settleMs: o.settleMs } : {}),
      ...(o.afterDecode ? { afterDecode: o.afterDecode } : {}),
    });
    ingestor.on('progress', (p) => o.emit.ingestProgress(p));
    ingestor.on('changed', () => this.#scheduleChanged(row.id));
    this.#ingestors.set(row.id, ingestor);
    return ingestor;
  }

  #startIngestor(row: DatasetRow): void {
    const ingestor = this.#ingestorFor(row);
    const pass = ingestor.start({ watch: this.#o.watch }).catch((err: Error) => {
      this.#o.emit.ingestProgress({ ...ingestor.progress, phase: 'error', error: err.message });
      throw err;
    });
    // ingestOnce waits on it (and throws its error); nobody else does.
    this.#passes.set(row.id, pass);
    const settled = (): void => void (this.#passes.get(row.id) === pass && this.#passes.delete(row.id));
    pass.then(settled, settled);
  }

  /** Coalesces per-file changes into at most one `datasetChanged` every 250 ms. */
  #scheduleChanged(datasetId: number): void {
    if (this.#changeTimers.has(datasetId)) return;
    this.#changeTimers.set(
      datasetId,
      setTimeout(() => {
        this.#changeTimers.delete(datasetId);
        if (!this.#o.db.open) return;
        try {
          const row = this.store.getDataset(datasetId);
          if (!row) return;
          this.#o.emit.datasetChanged(this.#summary(row));
          this.#o.onChanged(datasetId);
        } catch (err) {
          // A timer has no caller to throw to: a database that fails under it (damaged, full)
          // is reported as the dataset's error instead of ending the process.
          const ingestor = this.#ingestors.get(datasetId);
          if (ingestor)
            this.#o.emit.ingestProgress({ ...ingestor.progress, phase: 'error', error: (err as Error).message });
          else console.error(`plumage: dataset ${datasetId} changed, and reading it failed: ${(err as Error).message}`);
        }
      }, CHANGE_THROTTLE_MS),
    );
  }
}
