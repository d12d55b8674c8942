import type { PlumageApi, RunDetail, RunScores, RunState, RunSummary, TickInfo } from '../../../preload/contract';
import { recentSecPerKimg } from '../../../preload/run-stats';

/**
 * Points the charts hold for a run's whole history: the server downsamples to this (keeping
 * each metric's extremes), and live ticks are appended until there are twice as many, when the
 * history is fetched again, downsampled. A week-long run stays a few thousand points.
 */
export const CHART_POINTS = 2000;

/** The Training view's state: every run, the selected run's detail and its metric ticks, live. */
export class TrainingState {
  runs = $state.raw<RunSummary[]>([]);
  selectedId = $state<number | null>(null);
  detail = $state.raw<RunDetail | null>(null);
  ticks = $state.raw<TickInfo[]>([]);
  /** Checkpoint scores of the selected run and its lineage (forks on one chart), the run first. */
  scores = $state.raw<RunScores[]>([]);
  error = $state<string | null>(null);
  readonly #api: PlumageApi;
  readonly #off: (() => void)[] = [];
  /** Runs being deleted: their last events (stopping) must not bring them back or be fetched. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only, nothing renders from it
  readonly #deleting = new Set<number>();
  #refetching = false;
  #arrived: TickInfo[] = [];

  constructor(api: PlumageApi) {
    this.#api = api;
    this.#off.push(
      api.on('runChanged', (run) => {
        if (this.#deleting.has(run.id)) return;
        const others = this.runs.filter((r) => r.id !== run.id);
        this.runs = [run, ...others].sort((a, b) => b.id - a.id);
        if (run.id === this.selectedId) void this.#refreshDetail();
      }),
      api.on('runTick', ({ runId, tick }) => {
        // The kimg follows the ticks (a run's summary is sent at state changes and checkpoints).
        if (this.runs.some((r) => r.id === runId && r.kimg !== tick.kimg))
          this.runs = this.runs.map((r) => (r.id === runId ? { ...r, kimg: tick.kimg } : r));
        if (runId !== this.selectedId) return;
        if (this.#refetching) this.#arrived.push(tick);
        else if ((this.ticks.at(-1)?.id ?? 0) < tick.id) this.ticks = [...this.ticks, tick];
        if (this.ticks.length > 2 * CHART_POINTS && !this.#refetching) void this.#loadTicks(runId);
      }),
      api.on('runSnapshot', ({ runId }) => {
        if (runId === this.selectedId) void this.#refreshDetail();
      }),
      // A new score of the chart's lineage: the scores are read again (a few rows per checkpoint).
      api.on('checkpointScored', ({ runId }) => {
        if (this.#ofLineage(runId)) void this.#loadScores();
      }),
    );
  }

  get selected(): RunSummary | null {
    return this.runs.find((r) => r.id === this.selectedId) ?? null;
  }

  /** Seconds per kimg: the selected run's own recent measured speed. */
  get secPerKimg(): number | null {
    return recentSecPerKimg(this.ticks);
  }

  async load(): Promise<void> {
    this.runs = await this.#api.listRuns();
    if (this.selectedId === null && this.runs[0]) await this.select(this.runs[0].id);
  }

  async select(runId: number): Promise<void> {
    this.selectedId = runId;
    this.ticks = [];
    this.scores = [];
    await this.#refreshDetail();
    await this.#loadTicks(runId);
    await this.#loadScores();
  }

  /**
   * Whether a run's scores belong on the chart: a run of the lineage it shows, or a fork of one
   * made since it was read (from another window, or the CLI), found through the runs' parents.
   */
  #ofLineage(runId: number): boolean {
    // Up the parents, at most one hop per run listed (a cycle in damaged data cannot loop).
    let id: number | null = runId;
    for (let hops = 0; id !== null && hops <= this.runs.length; hops++) {
      const at: number = id;
      if (this.scores.some((r) => r.runId === at)) return true;
      id = this.runs.find((r) => r.id === at)?.parentRunId ?? null;
    }
    return false;
  }

  async #loadScores(): Promise<void> {
    const runId = this.selectedId;
    if (runId === null || this.#deleting.has(runId)) return;
    try {
      const scores = await this.#api.listCheckpointScores({ runId });
      if (this.selectedId === runId) this.scores = scores;
    } catch {
      // A run deleted meanwhile has none; its chart goes with it.
    }
  }

  /** The run's whole tick history, downsampled; ticks that arrive meanwhile are kept. */
  async #loadTicks(runId: number): Promise<void> {
    this.#refetching = true;
    this.#arrived = [];
    try {
      const history = await this.#api.listTicks({ runId, afterId: 0, maxPoints: CHART_POINTS });
      if (runId !== this.selectedId) return;
      const newest = history.at(-1)?.id ?? 0;
      this.ticks = [...history, ...this.#arrived.filter((t) => t.id > newest)];
    } finally {
      this.#refetching = false;
      this.#arrived = [];
    }
  }

  async #refreshDetail(): Promise<void> {
    const runId = this.selectedId;
    if (runId === null || this.#deleting.has(runId)) return;
    try {
      const detail = await this.#api.getRun({ runId });
      if (this.selectedId === runId) this.detail = detail;
    } catch (err) {
      // Deleted meanwhile (from another window, or just now): not an error to show.
      if (this.runs.some((r) => r.id === runId) && !this.#deleting.has(runId)) this.error = (err as Error).message;
    }
  }

  /** Runs an action, showing its error (not throwing) so a click never fails silently. */
  async act(fn: () => Promise<unknown>): Promise<void> {
    this.error = null;
    try {
      await fn();
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  start = (): Promise<void> => this.act(() => this.#api.startRun({ runId: this.selectedId! }));
  pause = (): Promise<void> => this.act(() => this.#api.pauseRun({ runId: this.selectedId! }));
  stop = (): Promise<void> => this.act(() => this.#api.stopRun({ runId: this.selectedId! }));
  snapshot = (): Promise<void> => this.act(() => this.#api.snapshotRun({ runId: this.selectedId! }));

  /**
   * A run just created, shown and selected. Its id may be one a deleted run had (ids are reused
   * when nothing of the old run is left on disk), so it is no longer one being deleted.
   */
  async adopt(run: RunSummary): Promise<void> {
    this.#deleting.delete(run.id);
    this.runs = [run, ...this.runs.filter((r) => r.id !== run.id)].sort((a, b) => b.id - a.id);
    await this.select(run.id);
  }

  previewDelete = (runId: number) => this.#api.previewDeleteRun({ runId });

  /** `confirm`: the user was told which favourites go with the run. */
  async remove(runId: number, confirm = false): Promise<void> {
    this.#deleting.add(runId);
    await this.act(async () => {
      try {
        this.runs = await this.#api.deleteRun({ runId, confirm });
      } catch (err) {
        this.#deleting.delete(runId);
        throw err;
      }
      if (this.selectedId === runId) {
        this.selectedId = null;
        this.detail = null;
        this.ticks = [];
        if (this.runs[0]) await this.select(this.runs[0].id);
      }
    });
  }

  dispose(): void {
    for (const off of this.#off) off();
  }
}

/** A run's state in the words its badge says. */
export const STATE_LABEL: Record<RunState, string> = {
  created: 'Ready',
  running: 'Training',
  paused: 'Paused',
  stopped: 'Stopped',
  crashed: 'Crashed',
  done: 'Done',
};

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
