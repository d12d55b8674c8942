import type {
  CropMode,
  DatasetSummary,
  IngestProgress,
  PlumageApi,
  Resolution,
  SourceItem,
  SourceStatus,
} from '../../../preload/contract';
import { PlumageError } from './api';
import { shownDataset } from './shown-dataset.svelte';

/** The dataset the Dataset view shows: its summary, live ingest progress, and change ticks. */
export class DatasetState {
  summary = $state.raw<DatasetSummary | null>(null);
  /** Every dataset opened in this home (folder × resolution × crop), the latest first. */
  all = $state.raw<DatasetSummary[]>([]);
  progress = $state.raw<IngestProgress | null>(null);
  error = $state<string | null>(null);
  busy = $state(false);
  /** Bumped whenever the file lists may have changed, so grids refetch what they show. */
  revision = $state(0);
  readonly #api: PlumageApi;
  readonly #off: (() => void)[] = [];

  constructor(api: PlumageApi) {
    this.#api = api;
    this.#off.push(
      api.on('ingestProgress', (p) => {
        if (p.datasetId === this.summary?.id) this.progress = p;
      }),
      api.on('datasetChanged', (s) => {
        this.all = this.all.map((d) => (d.id === s.id ? s : d));
        if (s.id === this.summary?.id) {
          this.summary = s;
          this.revision++;
        }
      }),
    );
  }

  get counts() {
    return this.summary?.counts ?? { accepted: 0, rejected: 0, duplicates: 0 };
  }

  get ingesting(): boolean {
    const phase = this.progress?.phase;
    return phase === 'scanning' || phase === 'ingesting';
  }

  /** Shows the most recently opened dataset (the bundled samples on a first start). */
  async loadLatest(): Promise<void> {
    const all = await this.#api.listDatasets();
    this.all = all;
    if (all[0]) this.#show(all[0]);
  }

  /**
   * Forgets a dataset (its cache and thumbnails go; the folder is untouched). When it was the one
   * shown, the latest other one is shown instead.
   */
  async forget(datasetId: number): Promise<void> {
    this.error = null;
    try {
      this.all = await this.#api.forgetDataset({ datasetId });
      if (this.summary?.id === datasetId) {
        this.summary = null;
        this.progress = null;
        shownDataset.id = null;
        if (this.all[0]) this.#show(this.all[0]);
      }
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  async open(folder: string, resolution: Resolution, crop: CropMode): Promise<void> {
    this.error = null;
    this.busy = true;
    try {
      this.#show(await this.#api.openDataset({ folder: folder.trim(), resolution, crop }));
    } catch (err) {
      this.error = (err as Error).message;
      // An error about the folder just asked for: the old dataset's "Watching …" line must not
      // stand above it as if that folder were the one being watched. A lost connection says
      // nothing about the folder, and the shown dataset comes back with it.
      if (!(err instanceof PlumageError && err.error.code === 'disconnected')) {
        this.summary = null;
        this.progress = null;
        shownDataset.id = null;
      }
    } finally {
      this.busy = false;
    }
  }

  async cancel(): Promise<void> {
    if (!this.summary) return;
    this.#show(await this.#api.cancelIngest({ datasetId: this.summary.id }));
  }

  #show(s: DatasetSummary): void {
    this.summary = s;
    this.all = [s, ...this.all.filter((d) => d.id !== s.id)];
    shownDataset.id = s.id;
    this.progress = s.progress;
    this.revision++;
  }

  dispose(): void {
    for (const off of this.#off) off();
  }
}

const PAGE = 120;

/** One status's file list, fetched page by page as a virtual list scrolls over it. */
export class SourcePages {
  total = $state(0);
  items = $state.raw<(SourceItem | undefined)[]>([]);
  readonly #api: PlumageApi;
  readonly #datasetId: number;
  readonly #status: SourceStatus;
  // Not reactive on purpose: it only guards against duplicate page loads.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #loading = new Set<number>();

  constructor(api: PlumageApi, datasetId: number, status: SourceStatus) {
    this.#api = api;
    this.#datasetId = datasetId;
    this.#status = status;
  }

  /** Makes sure items [from, to) are loaded (or loading). */
  ensure(from: number, to: number): void {
    for (let page = Math.floor(from / PAGE); page * PAGE < Math.max(to, 1); page++) {
      if (this.#loading.has(page) || this.items[page * PAGE] !== undefined) continue;
      this.#loading.add(page);
      // A failed read reaches the error banner (api.ts); the page is asked for again when next shown.
      void this.#api
        .listSources({ datasetId: this.#datasetId, status: this.#status, offset: page * PAGE, limit: PAGE })
        .then((r) => {
          const next = this.items.slice(0, r.total);
          next.length = r.total;
          r.items.forEach((item, i) => (next[r.offset + i] = item));
          this.total = r.total;
          this.items = next;
        })
        .finally(() => this.#loading.delete(page));
    }
  }
}
