import type {
  DatasetSummary,
  ExportProgress,
  ExportStart,
  Favourite,
  MissingGenerator,
  PlumageApi,
  PrintAdvice,
  PrintOptions,
  RunSummary,
  TimelapseFormat,
  UpscalerChoice,
} from '../../../preload/contract';

/** A request that would replace files: kept until the user says replace or not. */
interface Pending {
  files: string[];
  retry: () => Promise<ExportStart>;
}

/** The Export view's state: favourites to choose from, the job in hand and its progress. */
export class ExportState {
  favourites = $state.raw<Favourite[]>([]);
  selected = $state<number[]>([]);
  datasets = $state.raw<DatasetSummary[]>([]);
  runs = $state.raw<RunSummary[]>([]);
  upscalers = $state.raw<Record<UpscalerChoice, string> | null>(null);
  /** How the ticked favourites will print at the options in hand (one entry per resolution). */
  advice = $state.raw<PrintAdvice[]>([]);
  /** Why the options in hand cannot print (margins that leave no room), said beside them. */
  optionsError = $state<string | null>(null);
  progress = $state.raw<ExportProgress | null>(null);
  pending = $state.raw<Pending | null>(null);
  /** Favourites an export could not draw (their generator file is gone), until removed or kept. */
  missing = $state.raw<MissingGenerator[]>([]);
  error = $state<string | null>(null);
  readonly #api: PlumageApi;
  readonly #off: () => void;
  /** Only the newest advice request's answer is shown (the user may change several fields at once). */
  #adviceAsked = 0;
  /** Events can overtake the reply that names their job: the latest is kept to catch up with. */
  #lastEvent: ExportProgress | null = null;

  /** `selected`: favourites chosen elsewhere (the Favourites view's Export…), ticked from the start. */
  constructor(api: PlumageApi, selected: number[] = []) {
    this.#api = api;
    this.selected = [...selected];
    this.#off = api.on('exportProgress', (p) => {
      this.#lastEvent = p;
      if (p.jobId === this.progress?.jobId) this.progress = p;
    });
  }

  get running(): boolean {
    return this.progress?.state === 'running';
  }

  async load(): Promise<void> {
    const [favourites, datasets, runs, upscalers] = await Promise.all([
      this.#api.listFavourites({ sort: 'created' }),
      this.#api.listDatasets(),
      this.#api.listRuns(),
      this.#api.describeUpscalers(),
    ]);
    this.favourites = favourites;
    this.datasets = datasets;
    this.runs = runs;
    this.upscalers = upscalers;
    this.selected = this.selected.filter((id) => favourites.some((f) => f.id === id));
  }

  /** Asks how the ticked favourites will print at `options`; a newer call's answer wins. */
  async advise(options: PrintOptions): Promise<void> {
    const asked = ++this.#adviceAsked;
    if (this.selected.length === 0) {
      this.advice = [];
      this.optionsError = null;
      return;
    }
    try {
      const advice = await this.#api.printAdvice({ favourites: [...this.selected], options });
      if (asked !== this.#adviceAsked) return;
      this.advice = advice;
      this.optionsError = null;
    } catch (err) {
      if (asked !== this.#adviceAsked) return;
      this.advice = [];
      this.optionsError = (err as Error).message;
    }
  }

  toggle(id: number): void {
    this.selected = this.selected.includes(id) ? this.selected.filter((x) => x !== id) : [...this.selected, id];
  }

  selectAll(on: boolean): void {
    this.selected = on ? this.favourites.map((f) => f.id) : [];
  }

  prints(options: PrintOptions, folder: string): Promise<void> {
    return this.#run((overwrite) =>
      this.#api.exportPrints({ favourites: this.selected, options, folder: folder.trim(), overwrite }),
    );
  }

  contactSheet(options: PrintOptions, folder: string): Promise<void> {
    const { paper, customMm, orientation, tone } = options;
    return this.#run((overwrite) =>
      this.#api.exportContactSheet({
        favourites: this.selected,
        options: { paper, ...(customMm ? { customMm } : {}), orientation, tone },
        folder: folder.trim(),
        overwrite,
      }),
    );
  }

  dataset(datasetId: number, folder: string): Promise<void> {
    return this.#run((overwrite) => this.#api.exportDataset({ datasetId, folder: folder.trim(), overwrite }));
  }

  timelapse(runId: number, format: TimelapseFormat, fps: number, folder: string): Promise<void> {
    return this.#run((overwrite) =>
      this.#api.exportTimelapse({ runId, format, fps, folder: folder.trim(), overwrite }),
    );
  }

  /** The user agreed to replace the files listed in `pending`. */
  async replace(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (p) this.#started(await p.retry().catch((err: Error) => this.#fail(err)));
  }

  /** Removes the favourites whose generator file is gone (the user chose to), and unselects them. */
  async removeMissing(): Promise<void> {
    const ids = this.missing.map((m) => m.favouriteId);
    this.missing = [];
    try {
      for (const id of ids) await this.#api.removeFavourite({ id });
    } catch (err) {
      this.error = (err as Error).message;
    }
    this.selected = this.selected.filter((id) => !ids.includes(id));
    await this.load();
  }

  keepMissing(): void {
    this.missing = [];
  }

  keep(): void {
    this.pending = null;
  }

  async cancel(): Promise<void> {
    if (this.progress) this.progress = await this.#api.cancelExport({ jobId: this.progress.jobId });
  }

  dispose(): void {
    this.#off();
  }

  async #run(start: (overwrite: boolean) => Promise<ExportStart>): Promise<void> {
    this.error = null;
    this.pending = null;
    this.progress = null; // a new attempt: the last job's result would only confuse it
    this.missing = [];
    const first = await start(false).catch((err: Error) => this.#fail(err));
    if (first?.missing) this.missing = first.missing;
    else if (first?.existing) this.pending = { files: first.existing, retry: () => start(true) };
    else this.#started(first);
  }

  #started(s: ExportStart | null): void {
    if (s?.job) this.progress = this.#lastEvent?.jobId === s.job.jobId ? this.#lastEvent : s.job;
  }

  #fail(err: Error): null {
    this.error = err.message;
    return null;
  }
}
