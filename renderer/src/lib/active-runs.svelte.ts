import type { PlumageApi, RunSummary } from '../../../preload/contract';

/** A run that is training now, as the header shows it on every view. */
export interface ActiveRun {
  id: number;
  name: string;
  kimg: number;
  targetKimg: number;
}

/**
 * The runs training now, kept live from `runChanged` (state) and `runTick` (kimg) events, so
 * every view can show that something trains and how far it has come.
 */
export class ActiveRuns {
  runs = $state.raw<ActiveRun[]>([]);
  readonly #off: (() => void)[] = [];

  constructor(api: PlumageApi) {
    this.#off.push(
      api.on('runChanged', (r) => this.#update(r)),
      api.on('runTick', ({ runId, tick }) => {
        if (this.runs.some((r) => r.id === runId && r.kimg !== tick.kimg))
          this.runs = this.runs.map((r) => (r.id === runId ? { ...r, kimg: tick.kimg } : r));
      }),
    );
    void api.listRuns().then((all) => {
      for (const r of all) this.#update(r);
    });
  }

  #update(r: RunSummary): void {
    const others = this.runs.filter((x) => x.id !== r.id);
    this.runs =
      r.state === 'running'
        ? [...others, { id: r.id, name: r.name, kimg: r.kimg, targetKimg: r.targetKimg }].sort((a, b) => a.id - b.id)
        : others;
  }

  dispose(): void {
    for (const off of this.#off) off();
  }
}
