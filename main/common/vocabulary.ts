/**
 * Plumage's domain words: the resolutions, presets, backends, run states, paper names and limits
 * that the store, the GAN, the API's validators, the contract and the renderer all speak. Each
 * list is spelled here once; the rest import it (SQL is the exception: migrations are frozen
 * history, and test/unit/vocabulary.test.ts holds their CHECK lists to these).
 *
 * A leaf: it imports nothing, holds no behaviour, and runs anywhere (Node, the sandboxed preload,
 * the page), so importing it never drags a layer along. Why it lives here: docs/DECISIONS.md.
 */

// ── Datasets ──

export const RESOLUTIONS = [64, 128, 256, 512, 1024] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** centre: centre square; subject: sharp's attention strategy; pad: fit inside on the paper colour. */
export const CROP_MODES = ['centre', 'subject', 'pad'] as const;
export type CropMode = (typeof CROP_MODES)[number];

/** What ingestion made of a source file. */
export const SOURCE_STATUSES = ['accepted', 'rejected', 'duplicate'] as const;
export type SourceStatus = (typeof SOURCE_STATUSES)[number];

export type IngestPhase = 'scanning' | 'ingesting' | 'watching' | 'cancelled' | 'stopped' | 'error';

// ── Training ──

/** Network sizes: `tiny` for tests and CPU demos, else the output resolution (main/core/gan/config.ts). */
export const PRESETS = ['tiny', '64', '128', '256', '512', '1024'] as const;
export type Preset = (typeof PRESETS)[number];

/** A new run's length and intervals in kimg, where the user gives none. */
export interface RunLengths {
  targetKimg: number;
  snapshotKimg: number;
  checkpointKimg: number;
}

/**
 * The one rule for a new run's length and intervals, in the app's form and `plumage train` alike.
 * `tiny` is the CPU demo: 100 kimg (about an hour and a half on two cores), a grid every kimg so
 * the birds are seen to change. The GPU presets: 1000 kimg, what NVIDIA's transfer-learning
 * guidance finds enough from a trained network; a grid every 4 kimg, a checkpoint every 10 (the
 * ten-minute clock writes one sooner on a slow machine). A shorter run keeps at least four grids
 * and two checkpoints.
 */
export function defaultRunLengths(preset: Preset, targetKimg?: number): RunLengths {
  const demo = preset === 'tiny';
  const target = targetKimg ?? (demo ? 100 : 1000);
  return {
    targetKimg: target,
    snapshotKimg: Math.min(demo ? 1 : 4, target / 4),
    checkpointKimg: Math.min(demo ? 5 : 10, target / 2),
  };
}
/** Training backends, fastest first: the order the automatic choice tries them in. */
export const BACKENDS = ['cuda', 'webgpu', 'cpu-native', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];
/** The most worker-thread replicas a run may ask for (each a thread and a wasm instance). */
export const MAX_REPLICAS = 16;
export const RUN_STATES = ['created', 'running', 'paused', 'stopped', 'crashed', 'done'] as const;
export type RunState = (typeof RUN_STATES)[number];
/**
 * What paused a run when no one pressed Pause: the desktop app quitting, the server stopping,
 * `plumage train` interrupted (each writes a checkpoint first), or its process dying (a crash, a
 * kill -9), found at the next start.
 */
export const PAUSE_CAUSES = ['app', 'server', 'cli', 'crash'] as const;
export type PauseCause = (typeof PAUSE_CAUSES)[number];

// ── The gallery ──

/** Noise inputs of a generated image: 'const' (the learned constant) or 'random' (drawn from the seed). */
export const GALLERY_NOISE_MODES = ['const', 'random'] as const;
export type GalleryNoiseMode = (typeof GALLERY_NOISE_MODES)[number];
/** Truncation ψ runs from 0 (the average bird) to this (past the untruncated 1: wilder birds). */
export const MAX_PSI = 1.2;
/** Seeds one list may name (`generate --seeds`, generateFiles): drawn in batches, the list itself held whole. */
export const MAX_SEEDS_LISTED = 100_001;

export const FAVOURITE_SORTS = ['created', 'name', 'seed', 'kimg'] as const;
export type FavouriteSort = (typeof FAVOURITE_SORTS)[number];

/** Birds the Gallery asks for at a time (a screenful or so; it pages on as the grid scrolls). */
export const GALLERY_PAGE_SIZE = 24;

export const LATENT_SPACES = ['w', 'z'] as const;
export type LatentSpace = (typeof LATENT_SPACES)[number];
/**
 * An animation (an interpolation, a walk along a direction, a projection's video, a time-lapse) is
 * written as animated WebP or GIF, an MP4 (H.264: plays everywhere, imports into any editor), or numbered PNGs.
 */
export const ANIMATION_FORMATS = ['webp', 'gif', 'mp4', 'png'] as const;
export type AnimationFormat = (typeof ANIMATION_FORMATS)[number];
export const INTERPOLATION_FORMATS = ['strip', ...ANIMATION_FORMATS] as const;
export type InterpolationFormat = (typeof INTERPOLATION_FORMATS)[number];

// ── Prints and exports ──

/** Paper sizes by name; 'custom' takes `customMm`. Dimensions (mm, portrait) live in main/core/export/paper.ts. */
export const PAPER_NAMES = ['A5', 'A4', 'A3', 'A2', 'Letter', 'Tabloid', 'custom'] as const;
export type PaperName = (typeof PAPER_NAMES)[number];
/** The DPIs the UI offers; any integer 1–1200 is accepted. */
export const PRINT_DPIS = [150, 300, 600] as const;
export const PAPER_TONES = ['white', 'cream', 'antique'] as const;
export type PaperTone = (typeof PAPER_TONES)[number];
export const PRINT_FORMATS = ['pdf', 'png', 'tiff'] as const;
export type PrintFormat = (typeof PRINT_FORMATS)[number];
/** esrgan: a learned super-resolution network (invents plausible detail); lanczos: a filter (adds none). */
export const UPSCALERS = ['esrgan', 'lanczos'] as const;
export type Upscaler = (typeof UPSCALERS)[number];
/** What a print asks for: one upscaler, or 'auto' (the one that looks better at the bird's pixels per inch). */
export const UPSCALER_CHOICES = ['auto', ...UPSCALERS] as const;
export type UpscalerChoice = (typeof UPSCALER_CHOICES)[number];
/**
 * A bird's pixels per printed inch after ESRGAN's ×4: below `soft` it prints visibly soft
 * whichever upscaler (each of its pixels spans over 2 mm of paper); from `esrgan` on, 'auto'
 * uses ESRGAN, below it Lanczos (ESRGAN's sharp-edged pixels, enlarged further, show as a mosaic).
 * Measured on prints of 32², 64², 128² and 256² birds: docs/DECISIONS.md, "Which upscaler a print uses".
 */
export const PRINT_PPI = { soft: 50, esrgan: 100 } as const;

export const ORIENTATIONS = ['portrait', 'landscape'] as const;
export type Orientation = (typeof ORIENTATIONS)[number];
/** Custom paper sides: 20 mm (a stamp) to 1500 mm (beyond A0's long side). */
export const CUSTOM_MM_RANGE = { min: 20, max: 1500 } as const;

export type ExportKind = 'prints' | 'contact-sheet' | 'dataset' | 'timelapse';
export type ExportStep = 'generating' | 'upscaling' | 'composing' | 'writing';

/** The time-lapse of a run's snapshot grids: an animation or a numbered PNG sequence. */
export const TIMELAPSE_FORMATS = ANIMATION_FORMATS;
export type TimelapseFormat = (typeof TIMELAPSE_FORMATS)[number];

// ── Seeing into the model: the quality score, closest plates, directions ──

/** Generated images a score may be computed from (KID's kernel matrices grow with the square). */
export const MAX_METRIC_IMAGES = 5000;
/** Generated images a score is computed from unless asked otherwise (issue #20's 1,000): `metrics`, each checkpoint. */
export const DEFAULT_METRIC_IMAGES = 1000;
/** How the score is named wherever it is shown: Plumage's own, never to be mistaken for a published FID. */
export const kidLabel = (images: number): string => `Plumage KID (InceptionV3 mixed5, ${images} images)`;
export const DIRECTION_METHODS = ['sefa', 'ganspace'] as const;
export type DirectionMethod = (typeof DIRECTION_METHODS)[number];
/** Closest plates one request may ask for. */
export const MAX_NEIGHBOURS = 50;
/** Optimisation steps a projection may take. */
export const MAX_PROJECT_STEPS = 5000;
