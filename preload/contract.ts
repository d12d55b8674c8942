/**
 * The one contract for everything that crosses a process boundary:
 * renderer ↔ preload ↔ main (Electron IPC) and browser ↔ headless server (WebSocket).
 *
 * It holds types and the lists of channel names, nothing else: no runtime dependencies,
 * so the sandboxed preload can bundle it and the renderer can import it without Node.
 * Input validation (zod) lives main-side in `main/core/api/validate.ts`, typed against
 * these interfaces so the two cannot drift apart. The domain's words and records it is made of
 * live in main/common (the vocabulary), which it imports and passes on.
 */
import type {
  Resolution,
  CropMode,
  SourceStatus,
  Preset,
  BackendChoice,
  RunState,
  PauseCause,
  GalleryNoiseMode,
  LatentSpace,
  InterpolationFormat,
  AnimationFormat,
  Upscaler,
  UpscalerChoice,
  PaperName,
  TimelapseFormat,
  DirectionMethod,
} from '../main/common/vocabulary.js';
import type {
  DatasetCounts,
  IngestProgress,
  SourceItem,
  SourcePreview,
  TickInfo,
  FavouriteFilter,
  PrintOptions,
  ExportProgress,
  TransferInfo,
  CheckpointScore,
} from '../main/common/records.js';

// The words and records the API's types are made of, passed on so that a client of the API needs
// this one module; the core imports them from main/common.
export * from '../main/common/vocabulary.js';
export type * from '../main/common/records.js';

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
  /** The home's exports/ folder: where exports go unless another is chosen, and all `serve` lets a page download. */
  exportsFolder: string;
  /** Credit line for the bundled Audubon plates (must ship wherever they do). */
  credit: string;
  /** What training can do here: the backend a run would use and which presets fit it. */
  training: TrainingCapacity;
}

export interface TrainingCapacity {
  /** 'cuda' | 'webgpu' | 'cpu-native' | 'wasm' | 'cpu', as judged from the installed packages. */
  backend: string;
  /** The most memory that backend gives one trainer (MB); null where it cannot be known (a GPU). */
  memoryLimitMB: number | null;
  presets: {
    preset: Preset;
    needMB: number;
    fits: boolean;
    /** On wasm: images per round of G, D and R1, and of path length (gradient accumulation); else null. */
    rounds?: { perRound: number; plPerRound: number } | null;
    reason: string | null;
  }[];
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
  /** G_ema alone at this step (a generator file the Gallery draws from); null once retention removed it. */
  generator: string | null;
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
  /** Worker-thread replicas the run trains with on a single-threaded CPU backend (1 elsewhere). */
  replicas: number;
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
  /** Which backend that was; null before the first start. */
  backendKind?: BackendChoice | null;
  /** When a faster backend could be had on this machine, what to do for it (from the trainer's last start). */
  backendHint?: string | null;
  /** Why it last stopped or restarted, when not by request. */
  error: string | null;
  restarts: number;
  /** Why Start/Resume would fail (the preset does not fit this backend, a deterministic failure); else null. */
  cannotResume: string | null;
  /** The kimg Start/Resume continues from: its newest intact checkpoint on disk, a fork's parent's, or 0. */
  resumeKimg: number;
  /** Paused by a quit or a crash rather than its Pause button: which, and when (ms since the epoch); else null. */
  pausedBy: { cause: PauseCause; at: number } | null;
  parentRunId: number | null;
  /** A run started from a network file (transfer learning): the file and what the run kept of it. */
  startedFrom: (TransferInfo & { note: string }) | null;
  lastSnapshot: string | null;
  lastCheckpoint: CheckpointInfo | null;
  /** Birds each checkpoint's score (KID, memorisation) is computed from beside the trainer; 0: not scored. */
  kidImages: number;
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
  /**
   * Transfer learning: start from this network file (a Plumage checkpoint, a reference export or
   * an NVIDIA .pkl): G, G_ema and D where it has them, its architecture, the run's resolution.
   */
  initFrom?: string;
  /** Freeze-D: D's first this many layers keep their weights (the reference's --freezed). */
  freezeD?: number;
  /** Weight-initialisation seed (random when left out); with the same seed and data a run is reproducible. */
  seed?: number;
  /** Train on this backend instead of the best one present (it fails with the reason if it cannot start). */
  backend?: BackendChoice;
  /**
   * Split each batch over this many worker-thread replicas, one CPU core each (wasm and cpu
   * backends only; default: one per core, at most 4, as the batch allows). Kept on resume.
   */
  replicas?: number;
  /**
   * Score each checkpoint as it is written ("Plumage KID (InceptionV3 mixed5, N images)" and the
   * memorisation rate, in a low-priority process beside the trainer) from this many birds;
   * default 1,000; 0 turns it off.
   */
  kidImages?: number;
}

export interface RunRef {
  runId: number;
}

/**
 * "Train this folder" (`plumage train`, the page's New run): the folder's dataset, brought up to
 * date, and its run of this preset resumed, else a new one. Lengths left out take the one rule
 * (defaultRunLengths); the other settings are a new run's (a resumed run keeps its own).
 */
export interface TrainFolderParams
  extends
    Partial<Pick<OpenDatasetParams, 'resolution' | 'crop'>>,
    Partial<Omit<CreateRunParams, 'datasetId' | 'preset' | 'fromCheckpointId' | 'name'>> {
  folder: string;
  preset: Preset;
  /** Always a new run, never a resume (the page's New run: its runs list resumes a run by name). */
  newRun?: boolean;
}

export interface TrainFolderResult {
  datasetId: number;
  /** The folder already had this dataset (its crop and resolution were kept). */
  reused: boolean;
  /** The resolution the preset trains at (the dataset's may be larger). */
  trainsAt: number;
  /** The pass that brought the dataset's cache up to date. */
  ingest: {
    dataset: string;
    resolution: Resolution;
    crop: CropMode;
    accepted: number;
    rejected: number;
    duplicates: number;
    seconds: number;
    /** The folder has gone: no pass ran, and the run trains on what the dataset's cache holds. */
    folderGone?: boolean;
  };
  /** Resumed (from `fromKimg`, its last checkpoint) or created; either way not started: send startRun. */
  action: 'resumed' | 'created';
  run: RunSummary;
  fromKimg: number;
}

/** Requests: renderer → main. Every one takes a single params object (or nothing) and resolves. */
export interface PlumageRequests extends GalleryRequests, ExportRequests, InsightRequests {
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
  /**
   * Shows a file an export wrote in the system's file manager (the desktop app; the server has
   * none: its files are downloaded). Resolves to the path shown.
   */
  revealFile: (p: { path: string }) => string;
  listRuns: () => RunSummary[];
  getRun: (p: RunRef) => RunDetail;
  createRun: (p: CreateRunParams) => RunSummary;
  /** Starts a created run, or resumes a paused / stopped / crashed one from its last checkpoint. */
  startRun: (p: RunRef) => RunSummary;
  pauseRun: (p: RunRef) => RunSummary;
  stopRun: (p: RunRef) => RunSummary;
  snapshotRun: (p: RunRef) => RunSummary;
  /** Refused while favourites point at the run, unless `confirm` (see previewDeleteRun): then they go too. */
  deleteRun: (p: RunRef & { confirm?: boolean }) => RunSummary[];
  /**
   * Ticks after `afterId`, oldest first: a page of at most 5,000, or with `maxPoints` the whole
   * rest of the history downsampled to that many points (each metric's min and max kept per bucket).
   */
  listTicks: (p: RunRef & { afterId: number; maxPoints?: number }) => TickInfo[];
  /** Chooses the folder's dataset and run to train, resuming or creating it (does not start it). */
  trainFolder: (p: TrainFolderParams) => TrainFolderResult;
}

/** Events: main → renderer. */
export interface PlumageEvents extends GalleryEvents, ExportEvents, InsightEvents {
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
  'revealFile',
  'listRuns',
  'getRun',
  'createRun',
  'startRun',
  'pauseRun',
  'stopRun',
  'snapshotRun',
  'deleteRun',
  'listTicks',
  'trainFolder',
  'forgetDataset',
  'previewSource',
  // gallery
  'openGenerator',
  'generate',
  'cancelGeneration',
  'addFavourite',
  'listFavourites',
  'updateFavourite',
  'getFavourite',
  'removeFavourite',
  'renderFavourite',
  'suggestName',
  'interpolate',
  'generateFiles',
  'previewDeleteRun',
  // exports
  'exportPrints',
  'exportContactSheet',
  'exportDataset',
  'exportTimelapse',
  'cancelExport',
  'describeUpscalers',
  'printAdvice',
  // insight
  'computeMetrics',
  'listCheckpointScores',
  'findNearest',
  'computeDirections',
  'projectImage',
  'cancelProjection',
] as const satisfies readonly RequestName[];
export const EVENT_CHANNELS = [
  'ingestProgress',
  'datasetChanged',
  'runChanged',
  'runTick',
  'runSnapshot',
  'galleryImage',
  'galleryJob',
  'exportProgress',
  'projectProgress',
  'checkpointScored',
] as const satisfies readonly EventName[];

type Missing<All, Listed> = Exclude<All, Listed>;
const _allRequestsListed: Missing<RequestName, (typeof REQUEST_CHANNELS)[number]> extends never ? true : never = true;
const _allEventsListed: Missing<EventName, (typeof EVENT_CHANNELS)[number]> extends never ? true : never = true;
void _allRequestsListed;
void _allEventsListed;

/** Custom protocol the Electron window loads thumbnails and grids through. */
export const MEDIA_SCHEME = 'plumage-media';

/** IPC channel names are namespaced so they cannot clash with Electron's own. */
export const ipcRequestChannel = (name: RequestName): string => `plumage:req:${name}`;
export const ipcEventChannel = (name: EventName): string => `plumage:evt:${name}`;

/** Error shape that crosses the boundary (Error objects do not survive structured clone intact). */
export interface ApiError {
  /** 'disconnected': the page's socket to the headless server is down (the request never reached it). */
  code: 'invalid-input' | 'not-found' | 'unsupported' | 'failed' | 'disconnected';
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
  /** How the page hands over what exports wrote: a download (the browser) or the file manager (the desktop). */
  fileAccess: 'download' | 'reveal';
  /**
   * URL that downloads an export by its key (ExportProgress.downloads), or null where files are
   * revealed in the file manager instead (the desktop app).
   */
  downloadUrl(key: string): string | null;
  /** Downloads these exports (keys) as one zip named `fileName`; rejects where there are no downloads. */
  downloadZip(keys: string[], fileName: string): Promise<void>;
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

/** A kept bird: everything needed to regenerate it bit-identically, plus its name and note. */
export interface Favourite {
  id: number;
  /** The run and checkpoint it came from; both null for a favourite of a loose generator file. */
  runId: number | null;
  checkpointId: number | null;
  /** Absolute path of the generator file (the checkpoint's file, or the loose file). */
  generatorPath: string;
  /** The bird's seed, or null when the bird is its latent (`latent`: a projected plate). */
  seed: number | null;
  /** Absolute path of the latent file it is drawn from (a copy kept in the home), or null for a seed's bird. */
  latent: string | null;
  /** ψ of the seed (and of a style mix's second seed); a latent is drawn as it is. */
  psi: number;
  /** A latent with its own noise maps is drawn with them; otherwise this noise. */
  noiseMode: GalleryNoiseMode;
  /** Style mix: the synthesis layers at resolutions `mixLayers` ("4-8": 4² to 8², inclusive) use this seed's w. */
  mixSeed: number | null;
  mixLayers: string | null;
  /** A move along one of the generator's directions (after the mix), or null. */
  edit: BirdEdit | null;
  name: string;
  note: string;
  /** The checkpoint's kimg, when known. */
  kimg: number | null;
  createdAt: number;
  /** True when its generator file is no longer on disk (it cannot be drawn; offer to remove it). */
  fileMissing?: boolean;
}

// ── gallery (issue 10 items 1–5, 8) ──

/**
 * A generator to draw from: a run's checkpoint (by id, or the one at `kimg`), the G_ema written
 * with one of its grids (`snapshotId`), or by default the run's newest of either; or any file.
 */
export type GeneratorRef =
  { runId: number; checkpointId?: number; kimg?: number; snapshotId?: number } | { file: string };

export interface GeneratorInfo {
  file: string;
  runId: number | null;
  runName: string | null;
  checkpointId: number | null;
  /** The snapshot whose G_ema it is (the run as it trains, between checkpoints), else null. */
  snapshotId: number | null;
  kimg: number | null;
  resolution: number;
}

/**
 * A move along direction `direction` (strongest first) of the generator's SeFa or GANSpace
 * directions over `layers` ('all', coarse, middle, fine or "lo-hi"; a favourite keeps "lo-hi"),
 * by `amount` (w's units). The directions are recomputed from the file the same way each time
 * (and cached), so an edit redraws the same bytes.
 */
export interface BirdEdit {
  method: DirectionMethod;
  layers: string;
  direction: number;
  amount: number;
}

/** One look at the model: the same ψ, noise, (optional) style mix and edit for every seed. */
export interface GenerateParams {
  generator: GeneratorRef;
  seeds: number[];
  psi: number;
  noiseMode: GalleryNoiseMode;
  /** Style mix: the layers `mixLayers` (coarse, middle, fine or "lo-hi" resolutions) come from this seed. */
  mixSeed?: number;
  mixLayers?: string;
  /** Each bird moved along a direction (the bird dialog's sliders). */
  edit?: BirdEdit;
}

export interface GeneratedBird {
  seed: number;
  /** Media key of its PNG; it exists once `ready` (at once, if drawn before) or its `galleryImage` event. */
  media: string;
  ready: boolean;
}

export interface GenerateResult {
  /** 0 when every bird was ready already and nothing was queued. */
  jobId: number;
  generator: GeneratorInfo;
  /** The stored "lo-hi" range of a style mix, else null. */
  mixLayers: string | null;
  /** The edit as it is kept (its layers as "lo-hi"), else null. */
  edit: BirdEdit | null;
  birds: GeneratedBird[];
}

/**
 * A bird to keep: a seed's (as generate draws it), or a latent's (`latent`: a file as projectImage
 * writes it, copied into the home), either with an optional style mix and edit.
 */
export type AddFavouriteParams = {
  generator: GeneratorRef;
  mixSeed?: number;
  mixLayers?: string;
  edit?: BirdEdit;
  /** Default: the suggested binomial for the seed (for a latent, for its content). */
  name?: string;
  note?: string;
} & (
  | { seed: number; psi: number; noiseMode: GalleryNoiseMode; latent?: never }
  /** ψ (default 1) applies to a style mix's seed only; noise (default const) when the latent has no maps. */
  | { latent: string; psi?: number; noiseMode?: GalleryNoiseMode; seed?: never }
);

/**
 * A walk along one direction from a bird (the bird dialog's sliders): from `edit.amount` below
 * the bird to as far above it, in W, through the bird itself.
 */
export interface DirectionWalk {
  generator: GeneratorRef;
  seed: number;
  psi: number;
  noiseMode: GalleryNoiseMode;
  mixSeed?: number;
  mixLayers?: string;
  edit: BirdEdit;
}

/** Between favourites (`favouriteIds`), or along a direction (`along`, in W). */
export type InterpolateParams = (
  { favouriteIds: number[]; along?: never } | { along: DirectionWalk; favouriteIds?: never }
) & {
  space: LatentSpace;
  frames: number;
  fps: number;
  /** strip: a preview PNG (a media key comes back); webp/gif: one animated file; png: a numbered sequence. */
  format: InterpolationFormat;
  /** Folder for exports (default: the home's exports/). */
  outDir?: string;
  /** File name (no extension, no folders); default from the favourites' ids and the space (or the direction). */
  name?: string;
};

export interface InterpolateResult {
  files: string[];
  /** Download keys of those files that lie in the home's exports/, by path (see ExportProgress.downloads). */
  downloads: Record<string, string>;
  /** For a strip: its media key. */
  media: string | null;
}

/**
 * "Draw these birds into this folder" (`plumage generate`): one PNG a seed in `outDir` (made if
 * it is not there), named `seed0007[-mix3][-dir2+1.5].png`. Drawn in batches of a generate's
 * size; resolves when every file is written (or the draw was cancelled in-process).
 */
export interface GenerateFilesParams extends Omit<GenerateParams, 'seeds'> {
  /** At most MAX_SEEDS_LISTED (a generate asks for a page; this for a whole folder). */
  seeds: number[];
  outDir: string;
}

export interface GenerateFilesResult {
  generator: GeneratorInfo;
  outDir: string;
  /** The files written, in seed order: all of them, or those done before a cancel. */
  files: string[];
  cancelled: boolean;
}

export interface GalleryRequests {
  openGenerator: (p: GeneratorRef) => GeneratorInfo;
  generate: (p: GenerateParams) => GenerateResult;
  cancelGeneration: (p: { jobId: number }) => boolean;
  addFavourite: (p: AddFavouriteParams) => Favourite;
  listFavourites: (p: FavouriteFilter) => Favourite[];
  updateFavourite: (p: { id: number; name?: string; note?: string }) => Favourite;
  /** One favourite by its id (not-found when there is none). */
  getFavourite: (p: { id: number }) => Favourite;
  removeFavourite: (p: { id: number }) => boolean;
  /** Draws a favourite again from its file; a not-found error names the file when it is gone. */
  renderFavourite: (p: { id: number }) => GenerateResult;
  suggestName: (p: { seed: number; mixSeed?: number }) => string;
  interpolate: (p: InterpolateParams) => InterpolateResult;
  generateFiles: (p: GenerateFilesParams) => GenerateFilesResult;
  /** What `deleteRun` with `confirm` would also remove. */
  previewDeleteRun: (p: RunRef) => { favourites: Favourite[] };
}

export interface GalleryEvents {
  galleryImage: { jobId: number; index: number; media: string; ms: number };
  galleryJob: { jobId: number; state: 'done' | 'cancelled' | 'failed'; error?: string };
}

// ── Prints and exports (main/core/export/) ──

/** How the birds of one resolution will print at the given options (the Export view's warning). */
export interface PrintAdvice {
  /** The generator's resolution: its birds are resolution × resolution pixels. */
  resolution: number;
  /** The chosen favourites drawn at that resolution. */
  favouriteIds: number[];
  /** The bird's pixels per inch of paper, and after ESRGAN's ×4. */
  ppi: number;
  ppiAfterX4: number;
  /** The upscaler the print uses: the one asked for, or the one 'auto' picks at this ppi. */
  upscaler: Upscaler;
  /** Below PRINT_PPI.soft: the print will look soft whichever upscaler. */
  soft: boolean;
  /** The largest paper (same orientation, margins and caption) on which it is not soft; null if none is. */
  smallerPaper: { paper: PaperName; customMm?: { width: number; height: number }; ppiAfterX4: number } | null;
}
/** Which favourites: every one, or these ids in this order. */
export type FavouriteSelection = 'all' | number[];

/**
 * An export either starts (its first progress; `exportProgress` events follow) or, when files it
 * would write exist and overwriting was not allowed, starts nothing and lists them: ask the user,
 * then send the same request with `overwrite: true`. Favourites it cannot draw are listed too.
 */
export type ExportStart =
  | { job: ExportProgress; existing?: never; missing?: never }
  | { existing: string[]; job?: never; missing?: never }
  /** Favourites whose generator file is gone: nothing started; offer to remove them (removeFavourite). */
  | { missing: MissingGenerator[]; job?: never; existing?: never };

export interface MissingGenerator {
  favouriteId: number;
  name: string;
  generatorPath: string;
}

export interface ExportRequests {
  /** One file per favourite in `folder`, named from its plate number and name. */
  exportPrints: (p: {
    favourites: FavouriteSelection;
    options: PrintOptions;
    folder: string;
    overwrite?: boolean;
  }) => ExportStart;
  /** All the chosen favourites on as many pages as it takes, as one PDF. */
  exportContactSheet: (p: {
    favourites: FavouriteSelection;
    options: Pick<PrintOptions, 'paper' | 'customMm' | 'orientation' | 'tone'>;
    folder: string;
    fileName?: string;
    overwrite?: boolean;
  }) => ExportStart;
  /** The reference implementation's dataset format: zip of PNGs + dataset.json. */
  exportDataset: (p: { datasetId: number; folder: string; fileName?: string; overwrite?: boolean }) => ExportStart;
  exportTimelapse: (p: {
    runId: number;
    folder: string;
    format: TimelapseFormat;
    fps: number;
    overwrite?: boolean;
  }) => ExportStart;
  cancelExport: (p: { jobId: number }) => ExportProgress;
  /** What each upscaler choice does, in words for the UI. */
  describeUpscalers: () => Record<UpscalerChoice, string>;
  /** How the chosen favourites will print at these options, one entry per resolution (missing files left out). */
  printAdvice: (p: { favourites: FavouriteSelection; options: PrintOptions }) => PrintAdvice[];
}

export interface ExportEvents {
  exportProgress: ExportProgress;
}

// ── Seeing into the model (issue 20): the quality score, closest plates, directions ──

export interface MetricsParams {
  generator: GeneratorRef;
  /** The dataset to compare with; default the run's own. */
  datasetId?: number;
  /** Generated images (seeds 0…images−1 at ψ 1); default 1,000. */
  images?: number;
}

export interface MetricsResult {
  /** "Plumage KID (InceptionV3 mixed5, N images)": Plumage's own score, not comparable with published FIDs. */
  label: string;
  kid: number;
  /** Spread (standard deviation) of the subsets' estimates. */
  kidStd: number;
  images: number;
  /** Training images compared with. */
  reals: number;
  subsetSize: number;
  /** Share (0–1) of generated birds nearer a training image than training images are to each other. */
  memorisation: number;
  datasetId: number;
  generator: GeneratorInfo;
}

/** What to find the closest plates of: an image file, or a bird (as the gallery draws it). */
export type NearestQuery =
  | { image: string }
  | {
      bird: {
        generator: GeneratorRef;
        seed: number;
        psi: number;
        noiseMode: GalleryNoiseMode;
        mixSeed?: number;
        mixLayers?: string;
      };
    };

export type NearestParams = NearestQuery & { datasetId: number; k?: number };

export interface NearestResult {
  /** Nearest first; `distance` is Euclidean in the feature network's 768-d space (0: the same image). */
  neighbours: { file: string; distance: number; sourceId: number | null; thumb: string | null }[];
  /** The side (px) the images were compared at. */
  side: number;
}

export interface DirectionsParams {
  generator: GeneratorRef;
  method: DirectionMethod;
  /** 'all', coarse, middle, fine or "lo-hi" resolutions. */
  layers: string;
}

export interface DirectionsResult {
  method: DirectionMethod;
  /** The stored "lo-hi" range. */
  layers: string;
  /** Each direction's eigenvalue (SeFa) or variance (GANSpace), strongest first; index = direction number. */
  strengths: number[];
}

export interface ProjectParams {
  generator: GeneratorRef;
  /** The image file to project (made into a centre square of the generator's side). */
  image: string;
  /** Default 500. */
  steps?: number;
  /** One w per synthesis input (W+) instead of one w. */
  wPlus?: boolean;
  /** Folder for `<name>-projected.png` and `<name>-latent.json` (default: the home's exports/). */
  outDir?: string;
  /** File name start (no folders); default from the image's name. */
  name?: string;
  /**
   * Also write the optimisation as a video: the reconstruction every `every` steps (default 10),
   * as `<name>-projection.webp|gif|mp4` or numbered PNGs, written with the image and latent, all or nothing.
   */
  video?: { format: AnimationFormat; every?: number; fps?: number };
}

export interface ProjectResult {
  /** Feature distance of the result to the target, and its PSNR (dB). */
  distance: number;
  psnr: number;
  steps: number;
  /** The files written (only once the projection finished). */
  image: string;
  latent: string;
  /** The video's files (one animation or a PNG sequence); empty without `video`. */
  video: string[];
  /** The target square and the result as small PNG data: URLs, to show side by side. */
  targetPreview: string;
  preview: string;
}

export interface ProjectProgressEvent {
  jobId: number;
  step: number;
  steps: number;
  distance: number;
  psnr: number;
  etaSeconds: number | null;
  /** The current reconstruction (PNG data: URL), on steps that report one (every few, the first and the last). */
  preview: string | null;
  /** The target square (PNG data: URL), on the first event only. */
  targetPreview: string | null;
}

/** One run's checkpoint scores, oldest first. */
export interface RunScores {
  runId: number;
  name: string;
  parentRunId: number | null;
  /** The kimg of the parent checkpoint a fork started from: its KID line starts at the parent's score there. */
  branchKimg: number | null;
  kidImages: number;
  scores: CheckpointScore[];
}

export interface InsightRequests {
  computeMetrics: (p: MetricsParams) => MetricsResult;
  /**
   * The checkpoint scores of a run and of its lineage (the runs it was forked from, up to the
   * first, and every fork of those), the asked run first: one chart shows which config wins.
   */
  listCheckpointScores: (p: { runId: number }) => RunScores[];
  findNearest: (p: NearestParams) => NearestResult;
  computeDirections: (p: DirectionsParams) => DirectionsResult;
  /** Resolves when the projection is done; `projectProgress` events (with its jobId) come meanwhile. */
  projectImage: (p: ProjectParams) => ProjectResult;
  /** Stops a projection between steps; it then writes nothing and its request fails as cancelled. */
  cancelProjection: (p: { jobId: number }) => boolean;
}

export interface InsightEvents {
  projectProgress: ProjectProgressEvent;
  /** A checkpoint's score was stored (or its failure). */
  checkpointScored: CheckpointScore;
}
