/**
 * The one contract for everything that crosses a process boundary:
 * renderer ↔ preload ↔ main (Electron IPC) and browser ↔ headless server (WebSocket).
 *
 * It holds types and the lists of channel names, nothing else: no runtime dependencies,
 * so the sandboxed preload can bundle it and the renderer can import it without Node.
 * Input validation (zod) lives main-side in `main/core/api/validate.ts`, typed against
 * these interfaces so the two cannot drift apart.
 */

export const RESOLUTIONS = [64, 128, 256, 512, 1024] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** centre: centre square; subject: sharp's attention strategy; pad: fit inside on the paper colour. */
export const CROP_MODES = ['centre', 'subject', 'pad'] as const;
export type CropMode = (typeof CROP_MODES)[number];

export type SourceStatus = 'accepted' | 'rejected' | 'duplicate';

export interface DatasetCounts {
  accepted: number;
  rejected: number;
  duplicates: number;
}

export type IngestPhase = 'scanning' | 'ingesting' | 'watching' | 'cancelled' | 'stopped' | 'error';

export interface IngestProgress {
  datasetId: number;
  phase: IngestPhase;
  /** Files finished in the current pass (accepted, rejected or dropped). */
  done: number;
  /** Files the current pass has to look at. */
  total: number;
  /** Files per second over the current pass. */
  rate: number;
  /** Seconds left at the current rate; null while unknown. */
  etaSeconds: number | null;
  /** Why the pass stopped, when phase is 'error'. */
  error?: string;
}

export interface DatasetSummary {
  id: number;
  folder: string;
  resolution: Resolution;
  crop: CropMode;
  counts: DatasetCounts;
  progress: IngestProgress;
  /** Packed uint8 cache: slot k holds resolution² × 3 bytes (RGB, row-major) at offset k × that. */
  cacheFile: string;
}

export interface SourceItem {
  id: number;
  /** Path relative to the dataset folder, with forward slashes. */
  file: string;
  status: SourceStatus;
  reason: string | null;
  /** For a duplicate: the file it duplicates. */
  duplicateOf: string | null;
  width: number | null;
  height: number | null;
  /** Media key of the processed square's thumbnail; turn into a URL with `PlumageApi.mediaUrl`. */
  thumb: string | null;
}

/** A large view of one source file, as it is on disk (the Dataset view's click on a file). */
export interface SourcePreview {
  /** The file's absolute path. */
  file: string;
  status: SourceStatus;
  /** Why it was rejected, when it was. */
  reason: string | null;
  /** Media key of the preview (longest side 768 px, never enlarged); null when none can be drawn. */
  preview: string | null;
  /** Why there is no preview. */
  why: string | null;
}

export interface SourceRef {
  datasetId: number;
  sourceId: number;
}

export interface SourcePage {
  total: number;
  offset: number;
  items: SourceItem[];
}

export interface AppInfo {
  name: string;
  version: string;
  home: string;
  /** Which shell serves this API. */
  shell: 'electron' | 'server';
  /** True where `pickFolder` opens a native dialog. */
  nativeFolderDialog: boolean;
  /** Folder of the bundled sample plates. */
  samplesFolder: string;
  /** Credit line for the bundled Audubon plates (must ship wherever they do). */
  credit: string;
  /** What training can do here: the backend a run would use and which presets fit it. */
  training: TrainingCapacity;
}

export interface TrainingCapacity {
  /** 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu', as judged from the installed packages. */
  backend: string;
  /** The most memory that backend gives one trainer (MB); null where it cannot be known (a GPU). */
  memoryLimitMB: number | null;
  presets: { preset: Preset; needMB: number; fits: boolean; reason: string | null }[];
}

export interface OpenDatasetParams {
  folder: string;
  resolution: Resolution;
  crop: CropMode;
}

export interface DatasetRef {
  datasetId: number;
}

export interface ListSourcesParams extends DatasetRef {
  status: SourceStatus;
  offset: number;
  limit: number;
}

export const PRESETS = ['tiny', '64', '128', '256', '512', '1024'] as const;
export type Preset = (typeof PRESETS)[number];
export type RunState = 'created' | 'running' | 'paused' | 'stopped' | 'crashed' | 'done';

export interface CheckpointInfo {
  id: number;
  kimg: number;
  step: number;
  path: string;
  bytes: number;
  sha256: string;
  at: number;
  /** Why it failed verification (never resumed from), else null. */
  damaged: string | null;
}

export interface SnapshotInfo {
  id: number;
  kimg: number;
  step: number;
  /** Media key of the grid PNG (truncation 1 left, 0.7 right). */
  grid: string;
  at: number;
}

export interface TickInfo {
  id: number;
  kimg: number;
  step: number;
  lossG: number | null;
  lossD: number | null;
  r1Penalty: number | null;
  plPenalty: number | null;
  scoreReal: number | null;
  scoreFake: number | null;
  augmentP: number | null;
  imagesPerSec: number | null;
  secPerKimg: number | null;
  tensors: number | null;
  rssMB: number | null;
  /** Images the trainer was sampling from (the dataset grows while watched). */
  datasetImages: number | null;
  /** Bytes the tfjs backend holds in tensors (GPU or wasm memory). */
  tensorMB: number | null;
  at: number;
}

export interface RunSummary {
  id: number;
  name: string;
  datasetId: number;
  datasetFolder: string;
  preset: Preset;
  resolution: number;
  batchSize: number;
  r1Gamma: number;
  adaTarget: number;
  state: RunState;
  kimg: number;
  targetKimg: number;
  snapshotKimg: number;
  checkpointKimg: number;
  /** A checkpoint is written at least this often (wall-clock minutes), as well as every checkpointKimg. */
  checkpointMinutes: number;
  /** e.g. "CUDA via tfjs-node-gpu" or "CPU (wasm) — slow: install the GPU build"; null before the first start. */
  backend: string | null;
  /** Why it last stopped or restarted, when not by request. */
  error: string | null;
  restarts: number;
  /** Why Start/Resume would fail (the preset does not fit this backend, a deterministic failure); else null. */
  cannotResume: string | null;
  parentRunId: number | null;
  lastSnapshot: string | null;
  lastCheckpoint: CheckpointInfo | null;
  createdAt: number;
}

export interface RunDetail extends RunSummary {
  checkpoints: CheckpointInfo[];
  snapshots: SnapshotInfo[];
  /** Bytes on disk: checkpoints and grids. */
  diskBytes: number;
}

export interface CreateRunParams {
  datasetId: number;
  preset: Preset;
  targetKimg: number;
  snapshotKimg: number;
  checkpointKimg: number;
  /** Wall-clock bound on the checkpoint interval, in minutes (default 10). */
  checkpointMinutes?: number;
  r1Gamma?: number;
  adaTarget?: number;
  name?: string;
  /** Fork: continue from this checkpoint of an earlier run, with this run's config. */
  fromCheckpointId?: number;
  /** Transfer learning: start G from this generator file (a Plumage checkpoint or a reference export). */
  initFrom?: string;
  /** Weight-initialisation seed (random when left out); with the same seed and data a run is reproducible. */
  seed?: number;
}

export interface RunRef {
  runId: number;
}

/** Requests: renderer → main. Every one takes a single params object (or nothing) and resolves. */
export interface PlumageRequests {
  getAppInfo: () => AppInfo;
  listDatasets: () => DatasetSummary[];
  openDataset: (p: OpenDatasetParams) => DatasetSummary;
  getDataset: (p: DatasetRef) => DatasetSummary;
  listSources: (p: ListSourcesParams) => SourcePage;
  cancelIngest: (p: DatasetRef) => DatasetSummary;
  /**
   * Forgets a dataset: stops watching it and removes its cache, thumbnails and file list. The
   * folder itself is never touched. Refused while a run trains from it. Resolves to the datasets left.
   */
  forgetDataset: (p: DatasetRef) => DatasetSummary[];
  previewSource: (p: SourceRef) => SourcePreview;
  /** Native folder dialog; only where `AppInfo.nativeFolderDialog`. Resolves null when cancelled. */
  pickFolder: () => string | null;
  listRuns: () => RunSummary[];
  getRun: (p: RunRef) => RunDetail;
  createRun: (p: CreateRunParams) => RunSummary;
  /** Starts a created run, or resumes a paused / stopped / crashed one from its last checkpoint. */
  startRun: (p: RunRef) => RunSummary;
  pauseRun: (p: RunRef) => RunSummary;
  stopRun: (p: RunRef) => RunSummary;
  snapshotRun: (p: RunRef) => RunSummary;
  deleteRun: (p: RunRef) => RunSummary[];
  /**
   * Ticks after `afterId`, oldest first: a page of at most 5,000, or with `maxPoints` the whole
   * rest of the history downsampled to that many points (each metric's min and max kept per bucket).
   */
  listTicks: (p: RunRef & { afterId: number; maxPoints?: number }) => TickInfo[];
}

/** Events: main → renderer. */
export interface PlumageEvents {
  ingestProgress: IngestProgress;
  datasetChanged: DatasetSummary;
  runChanged: RunSummary;
  runTick: { runId: number; tick: TickInfo };
  runSnapshot: { runId: number; snapshot: SnapshotInfo };
}

export type RequestName = keyof PlumageRequests;
export type EventName = keyof PlumageEvents;
export type RequestParams<K extends RequestName> = Parameters<PlumageRequests[K]> extends [infer P] ? P : void;
export type RequestResult<K extends RequestName> = ReturnType<PlumageRequests[K]>;

/** Lists every key exactly once (the type below fails to compile if one is missing). */
export const REQUEST_CHANNELS = [
  'getAppInfo',
  'listDatasets',
  'openDataset',
  'getDataset',
  'listSources',
  'cancelIngest',
  'pickFolder',
  'listRuns',
  'getRun',
  'createRun',
  'startRun',
  'pauseRun',
  'stopRun',
  'snapshotRun',
  'deleteRun',
  'listTicks',
  'forgetDataset',
  'previewSource',
] as const satisfies readonly RequestName[];
export const EVENT_CHANNELS = [
  'ingestProgress',
  'datasetChanged',
  'runChanged',
  'runTick',
  'runSnapshot',
] as const satisfies readonly EventName[];

type Missing<All, Listed> = Exclude<All, Listed>;
const _allRequestsListed: Missing<RequestName, (typeof REQUEST_CHANNELS)[number]> extends never ? true : never = true;
const _allEventsListed: Missing<EventName, (typeof EVENT_CHANNELS)[number]> extends never ? true : never = true;
void _allRequestsListed;
void _allEventsListed;

/** IPC channel names are namespaced so they cannot clash with Electron's own. */
export const ipcRequestChannel = (name: RequestName): string => `plumage:req:${name}`;
export const ipcEventChannel = (name: EventName): string => `plumage:evt:${name}`;

/** Error shape that crosses the boundary (Error objects do not survive structured clone intact). */
export interface ApiError {
  code: 'invalid-input' | 'not-found' | 'unsupported' | 'failed';
  message: string;
}

/** WebSocket frames (headless server). */
export type ClientFrame = { id: number; method: RequestName; params?: unknown };
export type ServerFrame =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: ApiError }
  | { event: EventName; payload: unknown };

/** What the renderer talks to, over IPC or WebSocket alike. */
export type PlumageApi = {
  [K in RequestName]: (...args: Parameters<PlumageRequests[K]>) => Promise<RequestResult<K>>;
} & {
  on<E extends EventName>(event: E, listener: (payload: PlumageEvents[E]) => void): () => void;
  /** URL for a media key (thumbnail, sample grid) valid in this shell. */
  mediaUrl(key: string): string;
};

/** What the preload exposes as `window.plumage` (the renderer wraps it into a PlumageApi). */
export interface PreloadBridge {
  invoke(
    channel: RequestName,
    params: unknown,
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: ApiError }>;
  on(event: EventName, listener: (payload: unknown) => void): () => void;
  mediaScheme: string;
}
