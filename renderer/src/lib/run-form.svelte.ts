import {
  DEFAULT_METRIC_IMAGES,
  defaultRunLengths,
  type BackendChoice,
  type CreateRunParams,
  type PlumageApi,
  type Preset,
  type RunSummary,
} from '../../../preload/contract';

/** The checkpoint a fork continues from, and how the form names it. */
export interface ForkFrom {
  checkpointId: number;
  kimg: number;
  label: string;
}

/**
 * The Training view's New run form: its fields (a new run's lengths by the same rule as
 * `plumage train`, defaultRunLengths), the fork it may continue, and Create run with its error.
 */
export class RunForm {
  datasetId = $state<number | null>(null);
  preset = $state<Preset>('tiny');
  targetKimg = $state(defaultRunLengths('tiny').targetKimg);
  snapshotKimg = $state(defaultRunLengths('tiny').snapshotKimg);
  checkpointKimg = $state(defaultRunLengths('tiny').checkpointKimg);
  checkpointMinutes = $state(10);
  r1Gamma = $state<number | null>(null);
  adaTarget = $state(0.6);
  forkFrom = $state<ForkFrom | null>(null);
  initFrom = $state('');
  freezeD = $state<number | null>(null); // Freeze-D: D's first N layers keep their weights
  backend = $state<BackendChoice | ''>(''); // '' = the best one present
  replicas = $state<number | null>(null); // null = one per core, as the batch allows
  /** Score each checkpoint beside the trainer (KID and memorisation), from this many birds. */
  scoreCheckpoints = $state(true);
  kidImages = $state(DEFAULT_METRIC_IMAGES);
  /** Why the last Create run failed, said beside the button (no run may be shown to say it in). */
  createError = $state<string | null>(null);
  readonly #api: PlumageApi;

  constructor(api: PlumageApi) {
    this.#api = api;
  }

  /** A new run of another preset gets that preset's lengths (a fork keeps its parent's). */
  choosePreset(preset: Preset): void {
    this.preset = preset;
    if (!this.forkFrom)
      ({
        targetKimg: this.targetKimg,
        snapshotKimg: this.snapshotKimg,
        checkpointKimg: this.checkpointKimg,
      } = defaultRunLengths(preset));
  }

  /** What Create run asks for: only the optional settings the user gave (the core chooses the rest). */
  params(): CreateRunParams | null {
    if (this.datasetId === null) return null;
    const initFrom = this.initFrom.trim();
    return {
      datasetId: this.datasetId,
      preset: this.preset,
      targetKimg: this.targetKimg,
      snapshotKimg: this.snapshotKimg,
      checkpointKimg: this.checkpointKimg,
      checkpointMinutes: this.checkpointMinutes,
      adaTarget: this.adaTarget,
      ...(this.r1Gamma !== null ? { r1Gamma: this.r1Gamma } : {}),
      ...(this.forkFrom ? { fromCheckpointId: this.forkFrom.checkpointId } : {}),
      ...(initFrom ? { initFrom } : {}),
      ...(initFrom && this.freezeD !== null ? { freezeD: this.freezeD } : {}),
      ...(this.backend ? { backend: this.backend } : {}),
      ...(this.replicas !== null ? { replicas: this.replicas } : {}),
      ...(!this.scoreCheckpoints
        ? { kidImages: 0 }
        : this.kidImages !== DEFAULT_METRIC_IMAGES
          ? { kidImages: this.kidImages }
          : {}),
    };
  }

  /**
   * Creates the run (it does not start it); null, with createError set, when it failed or no
   * dataset is chosen. A new run goes through the core's "train this folder", as `plumage train`
   * does (the dataset brought up to date, its lengths by the same rule); a fork continues a
   * checkpoint, which no folder names.
   */
  async create(): Promise<RunSummary | null> {
    const params = this.params();
    if (!params) return null;
    this.createError = null;
    try {
      let created: RunSummary;
      if (params.fromCheckpointId !== undefined) created = await this.#api.createRun(params);
      else {
        const { datasetId, ...settings } = params;
        const { folder, resolution, crop } = await this.#api.getDataset({ datasetId });
        created = (await this.#api.trainFolder({ ...settings, folder, resolution, crop, newRun: true })).run;
      }
      this.forkFrom = null;
      return created;
    } catch (err) {
      this.createError = (err as Error).message;
      return null;
    }
  }

  /**
   * Fork: a new run from the run's last checkpoint. It continues its parent's counters: the same
   * length, intervals and settings to start from, and the length stays a total (the fork begins
   * at the parent's checkpoint kimg).
   */
  fork(run: RunSummary): void {
    if (!run.lastCheckpoint) return;
    this.forkFrom = {
      checkpointId: run.lastCheckpoint.id,
      kimg: run.lastCheckpoint.kimg,
      label: `run #${run.id} at ${run.lastCheckpoint.kimg.toFixed(2)} kimg`,
    };
    this.preset = run.preset;
    this.datasetId = run.datasetId;
    this.targetKimg = run.targetKimg;
    this.snapshotKimg = run.snapshotKimg;
    this.checkpointKimg = run.checkpointKimg;
    this.checkpointMinutes = run.checkpointMinutes;
    this.r1Gamma = run.r1Gamma;
    this.adaTarget = run.adaTarget;
    this.replicas = run.replicas;
    // The same score as its parent's, so the two curves on one chart compare like with like.
    this.scoreCheckpoints = run.kidImages !== 0;
    this.kidImages = run.kidImages || DEFAULT_METRIC_IMAGES;
  }
}
