/**
 * The records of Plumage's domain that the core makes and the contract carries as they are: a
 * dataset's counts and sources, ingestion's progress, a training tick, a print's options, an
 * export's progress, a filter over favourites. Types only; like the vocabulary, a leaf that the
 * store, the workers and the contract import without importing one another.
 */
import type {
  ExportKind,
  ExportStep,
  FavouriteSort,
  IngestPhase,
  Orientation,
  PaperName,
  PaperTone,
  PrintFormat,
  SourceStatus,
  UpscalerChoice,
} from './vocabulary.js';

export interface DatasetCounts {
  accepted: number;
  rejected: number;
  duplicates: number;
}

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

export interface FavouriteFilter {
  /** Case-insensitive text found in the name or note. */
  text?: string;
  runId?: number;
  sort?: FavouriteSort;
  descending?: boolean;
}

export interface PrintOptions {
  paper: PaperName;
  /** Trim size for paper 'custom', in mm. */
  customMm?: { width: number; height: number };
  orientation: Orientation;
  dpi: number;
  /** White space between the trim edge and the picture (and caption), in mm. */
  marginMm: number;
  /** Adds 3 mm of paper tone beyond the trim on every side (PDF: TrimBox and BleedBox set). */
  bleed: boolean;
  tone: PaperTone;
  caption: boolean;
  format: PrintFormat;
  upscaler: UpscalerChoice;
}

/** What a run started from a network file kept of it: netfile/transfer.ts's plan, said before training. */
export interface TransferInfo {
  file: string;
  /** Networks that came from the file (a generator-only file leaves D fresh). */
  networks: ('G' | 'G_ema' | 'D')[];
  /** Blocks (`G.synthesis.b64`, `D.b32`, `G.mapping`, …) copied whole, and those started fresh. */
  kept: string[];
  fresh: string[];
  /** Tensors copied, of all the trainer has. */
  copied: number;
  total: number;
  /** ADA's p and the kimg the file was trained to, where it says. */
  augmentP: number | null;
  kimg: number | null;
}

export interface ExportProgress {
  jobId: number;
  kind: ExportKind;
  state: 'running' | 'done' | 'cancelled' | 'failed';
  /** Items finished (written or failed) out of total. */
  done: number;
  total: number;
  /** The item in hand and its step; null between items and at the end. */
  current: { name: string; step: ExportStep; fraction: number } | null;
  /** Files written so far, absolute paths. */
  written: string[];
  /**
   * The download key of each written file that lies in the home's exports/, by its path: its path
   * there with forward slashes, for `PlumageApi.downloadUrl`. Files written elsewhere have none.
   */
  downloads: Record<string, string>;
  /** Items that failed, with why; the rest of the batch carries on. */
  failed: { name: string; error: string }[];
  /** Why the whole job stopped, when state is 'failed'. */
  error: string | null;
}

/** A checkpoint's score, computed beside the trainer when it was written (or at the next start). */
export interface CheckpointScore {
  runId: number;
  /** null once retention removed the checkpoint: its score stays on the curve. */
  checkpointId: number | null;
  kimg: number;
  step: number;
  /** null when scoring failed (`error` says why). */
  kid: number | null;
  kidStd: number | null;
  images: number;
  memorisation: number | null;
  /** "Plumage KID (InceptionV3 mixed5, N images)": Plumage's own score, not comparable with published FIDs. */
  label: string;
  error: string | null;
  computedAt: number;
}
