/**
 * The insight requests as the Studio and the CLI offer them: resolve the generator and the
 * dataset, hand the work to the gallery's task runner (its generator process in the app and
 * `serve`, this process in the CLI), and read back the result it wrote whole.
 */
import { basename, join, resolve } from 'node:path';
import type {
  DirectionsParams,
  DirectionsResult,
  MetricsParams,
  MetricsResult,
  NearestParams,
  NearestResult,
  RunScores,
  ProjectParams,
  ProjectProgressEvent,
  ProjectResult,
} from '../../../preload/contract.js';
import { DEFAULT_METRIC_IMAGES } from '../../common/vocabulary.js';
import { DEFAULT_PAPER } from '../paper-colour.js';
import { datasetCacheFile } from '../home-layout.js';
import { checkExportFolder, makeExportFolder, removeCreated } from '../export/folder.js';
import type { Gallery } from '../gallery/gallery.js';
import { mixRange } from '../gallery/mixing.js';
import type { TaskRunner } from '../gallery/runner.js';
import type { DatasetRow, DatasetStore } from '../store/datasets.js';
import { RunStore } from '../store/runs.js';
import { ScoreStore } from '../store/scores.js';
import type { Db } from '../store/db.js';
import type { DatasetImages } from './dataset-features.js';
import type { Directions } from './directions.js';
import type { MetricsResult as CoreMetrics, NearestResult as CoreNearest, Progress } from './metrics.js';
import { InsightInputError, InsightNotFoundError, checkImageFile } from './errors.js';
import type { InsightTask } from './tasks.js';
import { ANIMATION_FORMATS } from '../../common/vocabulary.js';
import { DEFAULT_VIDEO_FPS, PROJECT_REPORT_EVERY, checkProjectVideo } from './project-video.js';
import { submitInsight } from './submit.js';

export { DEFAULT_METRIC_IMAGES };
export const DEFAULT_NEIGHBOURS = 5;
export const DEFAULT_PROJECT_STEPS = 500;

/** 'all' (or the whole range) for every layer, else what style mixing accepts: coarse, middle, fine, "lo-hi". */
export function directionLayers(spec: string, resolution: number): string {
  if (spec === 'all' || spec === `4-${resolution}`) return `4-${resolution}`;
  try {
    return mixRange(spec, resolution);
  } catch (err) {
    throw new InsightInputError((err as Error).message.replace('coarse, middle, fine', 'all, coarse, middle, fine'));
  }
}

export class Insight {
  readonly #home: string;
  readonly #runner: TaskRunner;
  readonly #datasets: DatasetStore;
  readonly #gallery: Gallery;
  readonly #runs: RunStore;
  readonly #scores: ScoreStore;
  readonly #projections = new Set<number>();

  constructor(db: Db, home: string, runner: TaskRunner, datasets: DatasetStore, gallery: Gallery) {
    this.#home = home;
    this.#runner = runner;
    this.#datasets = datasets;
    this.#gallery = gallery;
    this.#runs = new RunStore(db, home);
    this.#scores = new ScoreStore(db, home);
  }

  /** The checkpoint scores of a run and its lineage (forks and the runs forked from), the run first. */
  listCheckpointScores(runId: number): RunScores[] {
    const ids = this.#scores.lineage(runId);
    if (ids.length === 0) throw new InsightNotFoundError(`no run with id ${runId}`);
    return ids.map((id) => {
      const run = this.#runs.getRun(id)!;
      const scores = this.#scores.listForRun(id);
      return {
        runId: id,
        name: run.name,
        parentRunId: run.parent_run_id,
        branchKimg: run.branch_kimg,
        kidImages: run.kid_images,
        scores,
      };
    });
  }

  async computeMetrics(p: MetricsParams, onProgress?: (p: Progress) => void): Promise<MetricsResult> {
    const generator = await this.#gallery.openGenerator(p.generator);
    let datasetId = p.datasetId;
    if (datasetId === undefined) {
      const run = generator.runId !== null ? this.#runs.getRun(generator.runId) : undefined;
      if (!run)
        throw new InsightInputError('a generator file is compared with a dataset: name one (datasetId, --dataset)');
      datasetId = run.dataset_id;
    }
    const ds = this.#datasetImages(this.#dataset(datasetId), generator.resolution);
    const images = p.images ?? DEFAULT_METRIC_IMAGES;
    const r = await this.#run<CoreMetrics>(
      { op: 'metrics', home: this.#home, file: generator.file, dataset: ds, images },
      onProgress,
    );
    return { ...r, datasetId, generator };
  }

  async findNearest(p: NearestParams): Promise<NearestResult> {
    const row = this.#dataset(p.datasetId);
    const k = p.k ?? DEFAULT_NEIGHBOURS;
    let query: Extract<InsightTask, { op: 'nearest' }>['query'];
    let side: number = row.resolution;
    if ('image' in p) {
      query = { kind: 'image', path: resolve(p.image) };
      await checkImageFile(query.path);
    } else {
      const b = p.bird;
      const gen = await this.#gallery.openGenerator(b.generator);
      side = gen.resolution;
      if ((b.mixSeed === undefined) !== (b.mixLayers === undefined))
        throw new InsightInputError('a style mix needs both the second seed and the layers it gives');
      const mix = b.mixSeed !== undefined ? { seed: b.mixSeed, layers: mixRange(b.mixLayers!, side) } : null;
      query = { kind: 'bird', file: gen.file, spec: { seed: b.seed, psi: b.psi, noiseMode: b.noiseMode, mix } };
    }
    const ds = this.#datasetImages(row, side);
    const r = await this.#run<CoreNearest>({ op: 'nearest', home: this.#home, dataset: ds, k, query });
    const byPath = new Map(this.#datasets.listAllSources(row.id).map((s) => [s.path, s]));
    return {
      side: r.side,
      neighbours: r.neighbours.map((n) => ({
        file: join(row.folder, n.file),
        distance: n.distance,
        sourceId: byPath.get(n.file)?.id ?? null,
        thumb: byPath.get(n.file)?.thumb ?? null,
      })),
    };
  }

  async computeDirections(p: DirectionsParams): Promise<DirectionsResult> {
    const d = await this.directions(p);
    return { method: d.method, layers: d.layers, strengths: d.strengths };
  }

  /** The directions themselves (vectors included), for drawing along them. */
  async directions(p: DirectionsParams): Promise<Directions & { file: string; resolution: number }> {
    const gen = await this.#gallery.openGenerator(p.generator);
    const layers = directionLayers(p.layers, gen.resolution);
    const d = await this.#run<Directions>({
      op: 'directions',
      home: this.#home,
      file: gen.file,
      method: p.method,
      layers,
    });
    return { ...d, file: gen.file, resolution: gen.resolution };
  }

  /**
   * Projects an image into a generator (see insight/project.ts); `onProgress` gets its jobId (for
   * cancelProjection), the step, the distance and an ETA every few steps.
   */
  async projectImage(p: ProjectParams, onProgress?: (e: ProjectProgressEvent) => void): Promise<ProjectResult> {
    const gen = await this.#gallery.openGenerator(p.generator);
    const image = resolve(p.image);
    const name = p.name ?? basename(image).replace(/\.[^.]*$/, '');
    if (/[/\\]/.test(name) || name.startsWith('.') || name.trim() === '')
      throw new InsightInputError(`not a usable file name: ${JSON.stringify(name)}`);
    const steps = p.steps ?? DEFAULT_PROJECT_STEPS;
    const video = p.video
      ? {
          format: p.video.format,
          every: p.video.every ?? Math.min(PROJECT_REPORT_EVERY, steps),
          fps: p.video.fps ?? DEFAULT_VIDEO_FPS,
        }
      : null;
    if (video) {
      if (!ANIMATION_FORMATS.includes(video.format))
        throw new InsightInputError(`the video's format must be ${ANIMATION_FORMATS.join(', ')}`);
      // Refused here, before the generator process starts: the frames are held until the end.
      checkProjectVideo(video, steps, gen.resolution);
    }
    // One rule for every output folder (export/folder.ts): absolute, made if missing, never the home's own.
    const outDir = await checkExportFolder(p.outDir, this.#home);
    // Made now, so a folder that cannot be made fails before minutes of work; removed again (where
    // still empty) when the projection is stopped or fails, which writes nothing.
    const made = await makeExportFolder(outDir);
    const t0 = performance.now();
    let jobId = 0;
    return this.#run<ProjectResult>(
      {
        op: 'project',
        file: gen.file,
        target: image,
        paper: DEFAULT_PAPER,
        steps,
        wPlus: p.wPlus ?? false,
        outDir,
        name,
        video,
      },
      (pr) => {
        const s = (performance.now() - t0) / 1000;
        onProgress?.({
          jobId,
          step: pr.done,
          steps: pr.total,
          distance: pr.distance ?? NaN,
          psnr: pr.psnr ?? NaN,
          etaSeconds: pr.done > 0 ? Math.round((s / pr.done) * (pr.total - pr.done)) : null,
          preview: pr.preview ?? null,
          targetPreview: pr.targetPreview ?? null,
        });
      },
      (id) => {
        jobId = id;
        this.#projections.add(id);
      },
    )
      .catch(async (err: unknown) => {
        await removeCreated(made);
        throw err;
      })
      .finally(() => this.#projections.delete(jobId));
  }

  /** Stops a running projection (between steps); true when there was one. */
  cancelProjection(jobId: number): boolean {
    if (!this.#projections.has(jobId)) return false;
    return this.#runner.cancel(jobId);
  }

  /** The dataset a folder was ingested as, at a resolution a `side`² generator can be compared at. */
  datasetForFolder(folder: string, side: number | null): DatasetRow {
    const abs = resolve(folder);
    const rows = this.#datasets.listDatasets().filter((r) => r.folder === abs);
    if (rows.length === 0)
      throw new InsightNotFoundError(
        `${abs} is not a dataset in this home: ingest it first (plumage ingest ${abs} --resolution R)`,
      );
    const fits = rows
      .filter((r) => side === null || r.resolution % side === 0)
      .sort((a, b) =>
        side !== null && a.resolution === side ? -1 : b.resolution === side ? 1 : b.resolution - a.resolution,
      );
    if (fits.length === 0)
      throw new InsightInputError(
        `${abs} is ingested at ${rows.map((r) => `${r.resolution}²`).join(', ')}, none of which a ${side}² generator ` +
          `can be compared at: ingest it at ${side} (plumage ingest ${abs} --resolution ${side})`,
      );
    return fits[0]!;
  }

  #dataset(id: number): DatasetRow {
    const row = this.#datasets.getDataset(id);
    if (!row) throw new InsightNotFoundError(`no dataset with id ${id}`);
    return row;
  }

  #datasetImages(row: DatasetRow, side: number): DatasetImages {
    if (row.resolution % side !== 0)
      throw new InsightInputError(
        `dataset ${row.id} is ${row.resolution}²: a ${side}² image cannot be compared with it (ingest its folder at ${side})`,
      );
    const sources = this.#datasets
      .listAllSources(row.id)
      .filter((s) => s.status === 'accepted' && s.slot !== null)
      .map((s) => ({ file: s.path, hash: s.hash ?? `${s.path}\0${s.size}\0${s.mtime_ms}`, slot: s.slot! }));
    if (sources.length === 0)
      throw new InsightInputError(`dataset ${row.id} (${row.folder}) has no accepted images yet`);
    return {
      datasetId: row.id,
      cacheFile: datasetCacheFile(this.#home, row),
      resolution: row.resolution,
      crop: row.crop,
      paper: row.paper,
      sources,
    };
  }

  #run<T>(task: InsightTask, onProgress?: (p: Progress) => void, onStart?: (jobId: number) => void): Promise<T> {
    return submitInsight<T>(this.#runner, this.#home, task, onProgress, onStart);
  }
}
