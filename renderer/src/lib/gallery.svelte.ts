import {
  GALLERY_PAGE_SIZE as PAGE_SIZE,
  type GalleryNoiseMode,
  type GeneratedBird,
  type GeneratorInfo,
  type GeneratorRef,
  type PlumageApi,
} from '../../../preload/contract';

export const DEFAULT_PSI = 0.7;
/** Birds one grid holds at most (each is an <img>): beyond, the user jumps to a seed instead. */
export const MAX_CELLS = 2400;

export interface Cell {
  seed: number;
  media: string | null;
  ready: boolean;
}

/**
 * The Gallery's grid: one model, one ψ and noise mode, seeds in pages (in order or random).
 * Birds stream in through `galleryImage` events; changing the model or a setting cancels what
 * is still queued, so the generator process never works for a grid nobody sees.
 */
export class GalleryGrid {
  generator = $state.raw<GeneratorInfo | null>(null);
  ref = $state.raw<GeneratorRef | null>(null);
  cells = $state<Cell[]>([]);
  psi = $state(DEFAULT_PSI);
  noiseMode = $state<GalleryNoiseMode>('const');
  random = $state(false);
  start = $state(0);
  error = $state<string | null>(null);
  loading = $state(false);
  readonly #api: PlumageApi;
  readonly #off: (() => void)[] = [];
  /** jobId → cell index of each bird of that job's request. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only, nothing renders from it
  readonly #jobs = new Map<number, number[]>();
  #generation = 0;

  constructor(api: PlumageApi) {
    this.#api = api;
    this.#off.push(
      api.on('galleryImage', (e) => {
        const cell = this.#jobs.get(e.jobId)?.[e.index];
        if (cell !== undefined && this.cells[cell]) this.cells[cell].ready = true;
      }),
      api.on('galleryJob', (e) => {
        if (e.state === 'failed' && this.#jobs.has(e.jobId)) this.error = e.error ?? 'drawing failed';
        this.#jobs.delete(e.jobId);
      }),
    );
  }

  dispose(): void {
    for (const off of this.#off) off();
    this.#cancelAll();
  }

  async open(ref: GeneratorRef): Promise<void> {
    this.error = null;
    try {
      this.generator = await this.#api.openGenerator(ref);
      this.ref = ref;
      await this.reset();
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  /** Starts the grid again from `start` (after a change of model, ψ, noise or order). */
  async reset(): Promise<void> {
    this.#cancelAll();
    this.#generation++;
    this.cells = [];
    await this.more();
  }

  /** The next page of seeds. */
  async more(): Promise<void> {
    if (!this.ref || this.loading) return;
    const generation = this.#generation;
    const first = this.cells.length;
    const seeds = Array.from({ length: PAGE_SIZE }, (_, i) =>
      this.random ? Math.floor(Math.random() * 0x100000000) : this.start + first + i,
    ).filter((s) => s <= 0xffffffff);
    if (seeds.length === 0) return;
    this.loading = true;
    this.cells = [...this.cells, ...seeds.map((seed) => ({ seed, media: null, ready: false }))];
    try {
      const r = await this.#api.generate({ generator: this.ref, seeds, psi: this.psi, noiseMode: this.noiseMode });
      if (generation !== this.#generation) {
        if (r.jobId) void this.#api.cancelGeneration({ jobId: r.jobId });
        return;
      }
      r.birds.forEach((b: GeneratedBird, i) => {
        const cell = this.cells[first + i];
        if (cell) {
          cell.media = b.media;
          cell.ready = cell.ready || b.ready;
        }
      });
      if (r.jobId)
        this.#jobs.set(
          r.jobId,
          seeds.map((_, i) => first + i),
        );
    } catch (err) {
      this.error = (err as Error).message;
    } finally {
      this.loading = false;
    }
  }

  #cancelAll(): void {
    for (const jobId of this.#jobs.keys()) void this.#api.cancelGeneration({ jobId }).catch(() => {});
    this.#jobs.clear();
  }
}

/**
 * Birds drawn on request (a mix, an evolution row, a favourite): resolves with their media keys
 * once every PNG exists. Events that arrive before the request's reply are kept, not missed.
 */
export async function drawn(
  api: PlumageApi,
  request: () => Promise<{ jobId: number; birds: GeneratedBird[] }>,
): Promise<string[]> {
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only
  const ended = new Map<number, string | null>();
  let wake: () => void = () => {};
  const off = api.on('galleryJob', (e) => {
    ended.set(e.jobId, e.state === 'failed' ? (e.error ?? 'drawing failed') : null);
    wake();
  });
  try {
    const r = await request();
    if (r.jobId !== 0) {
      while (!ended.has(r.jobId)) await new Promise<void>((res) => (wake = res));
      const error = ended.get(r.jobId);
      if (error) throw new Error(error);
    }
    return r.birds.map((b) => b.media);
  } finally {
    off();
  }
}
