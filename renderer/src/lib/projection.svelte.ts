import type {
  AnimationFormat,
  Favourite,
  GeneratorRef,
  PlumageApi,
  ProjectProgressEvent,
  ProjectResult,
} from '../../../preload/contract';

export type ProjectionState = 'idle' | 'starting' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';

/** "1 min 20 s", "45 s": an ETA a person reads at a glance. */
export function etaText(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'estimating time left…';
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s left`;
  const m = Math.floor(seconds / 60);
  return `about ${m} min ${Math.round(seconds - m * 60)} s left`;
}

/**
 * One projection from the page: started with `projectImage`, followed through its
 * `projectProgress` events (the reconstruction every few steps, the distance, the ETA) and
 * cancellable by the jobId the first event brings. The page runs one at a time.
 */
export class Projection {
  state = $state<ProjectionState>('idle');
  progress = $state.raw<ProjectProgressEvent | null>(null);
  preview = $state<string | null>(null);
  targetPreview = $state<string | null>(null);
  result = $state.raw<ProjectResult | null>(null);
  error = $state<string | null>(null);
  /** The favourite the result was kept as, once kept. */
  kept = $state.raw<Favourite | null>(null);
  keepError = $state<string | null>(null);
  #generator: GeneratorRef | null = null;
  readonly #api: PlumageApi;
  readonly #off: () => void;
  #jobId: number | null = null;
  #cancelAsked = false;

  constructor(api: PlumageApi) {
    this.#api = api;
    this.#off = api.on('projectProgress', (e) => {
      if (this.state !== 'starting' && this.state !== 'running' && this.state !== 'cancelling') return;
      // The first event names this projection's job; events of another (a second window) are not ours.
      if (this.#jobId === null) {
        this.#jobId = e.jobId;
        if (this.#cancelAsked) void this.cancel();
      }
      if (e.jobId !== this.#jobId) return;
      if (this.state === 'starting') this.state = 'running';
      this.progress = e;
      if (e.preview) this.preview = e.preview;
      if (e.targetPreview) this.targetPreview = e.targetPreview;
    });
  }

  get busy(): boolean {
    return this.state === 'starting' || this.state === 'running' || this.state === 'cancelling';
  }

  async start(p: {
    generator: GeneratorRef;
    image: string;
    steps: number;
    wPlus: boolean;
    video: AnimationFormat | null;
  }): Promise<void> {
    if (this.busy) return;
    this.state = 'starting';
    this.#jobId = null;
    this.#cancelAsked = false;
    this.progress = null;
    this.preview = null;
    this.targetPreview = null;
    this.result = null;
    this.error = null;
    this.kept = null;
    this.keepError = null;
    this.#generator = p.generator;
    try {
      const r = await this.#api.projectImage({
        generator: p.generator,
        image: p.image,
        steps: p.steps,
        wPlus: p.wPlus,
        ...(p.video ? { video: { format: p.video } } : {}),
      });
      this.result = r;
      this.preview = r.preview;
      this.targetPreview = r.targetPreview;
      this.state = 'done';
    } catch (err) {
      const msg = (err as Error).message;
      if (this.#cancelAsked && msg === 'cancelled') this.state = 'cancelled';
      else {
        this.error = msg;
        this.state = 'failed';
      }
    }
  }

  /** Keeps the result as a favourite (its latent copied into the home), drawn from the same generator. */
  async keep(name?: string): Promise<void> {
    if (this.state !== 'done' || !this.result || !this.#generator || this.kept) return;
    try {
      this.kept = await this.#api.addFavourite({
        generator: this.#generator,
        latent: this.result.latent,
        ...(name?.trim() ? { name: name.trim() } : {}),
      });
      this.keepError = null;
    } catch (err) {
      this.keepError = (err as Error).message;
    }
  }

  async cancel(): Promise<void> {
    if (!this.busy) return;
    this.#cancelAsked = true;
    this.state = 'cancelling';
    // Before the first event the job is not known yet: the event handler cancels it on arrival.
    if (this.#jobId !== null) await this.#api.cancelProjection({ jobId: this.#jobId });
  }

  dispose(): void {
    this.#off();
    void this.cancel();
  }
}
