/**
 * The body of `plumage train`, once its flags and folder are checked: choose the dataset (the
 * folder's existing one when it fits), resume or create the run, report it, and pause it cleanly
 * on Ctrl-C, SIGTERM or a closed stdout.
 */
import type { BackendChoice, CropMode, Preset, Resolution, RunSummary } from '../../preload/contract.js';
import { defaultRunLengths } from '../common/vocabulary.js';
import { presetConfig } from '../core/gan/config.js';
import { resolveHome } from '../core/home.js';
import type { DatasetRow } from '../core/store/datasets.js';
import { Studio } from '../core/studio.js';
import { pausedLine, pausingLine, resumeCommand } from '../core/train/pause-report.js';
import { DEFAULT_RESOURCES_DIR } from '../core/version.js';
import type { FlagValues } from './usage.js';
import { say as sayLine, sayJson, warn } from './terminal.js';

export interface TrainArgs {
  values: FlagValues;
  folder: string;
  preset: Preset;
  kimg?: number | undefined;
  snapshotKimg?: number | undefined;
  checkpointKimg?: number | undefined;
  checkpointMinutes?: number | undefined;
  seed?: number | undefined;
  resolution?: Resolution | undefined;
  crop?: CropMode | undefined;
  backend?: BackendChoice | undefined;
  replicas?: number | undefined;
  /** A network file a new run starts from, and Freeze-D's layer count. */
  from?: string | undefined;
  freezeD?: number | undefined;
}

/**
 * The folder's dataset to train on: the most recently opened one that can feed the preset (and
 * matches --resolution/--crop when given), so the crop chosen with `ingest` or in the app is the
 * one trained on; else a new one at the preset's resolution (at least 64²) and centre crop.
 */
export function chooseDataset(
  datasets: DatasetRow[],
  folder: string,
  trainsAt: number,
  resolution: Resolution | undefined,
  crop: CropMode | undefined,
): { resolution: Resolution; crop: CropMode; existing: DatasetRow | undefined } {
  const existing = datasets.find(
    (d) =>
      d.folder === folder &&
      d.resolution % trainsAt === 0 &&
      (resolution === undefined || d.resolution === resolution) &&
      (crop === undefined || d.crop === crop),
  );
  if (existing) return { resolution: existing.resolution, crop: existing.crop, existing };
  return { resolution: resolution ?? (Math.max(64, trainsAt) as Resolution), crop: crop ?? 'centre', existing };
}

export async function train(a: TrainArgs): Promise<number> {
  // A closed stdout (`train … | head -5`) is the reader going away, not a crash: stop printing
  // and pause the run with a checkpoint, as Ctrl-C does, so the next `train` resumes it.
  let stdoutOpen = true;
  let onClosed = (): void => {};
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    if (!stdoutOpen) return;
    stdoutOpen = false;
    onClosed();
  });
  const say = (obj: Record<string, unknown>, text: string): void => {
    if (!stdoutOpen) return;
    if (a.values.json) sayJson(obj);
    else sayLine(text);
  };

  const studio = Studio.open({
    home: resolveHome(a.values.home as string | undefined),
    resourcesDir: DEFAULT_RESOURCES_DIR,
    shell: 'server',
    watch: false,
  });
  try {
    const trainsAt = presetConfig(a.preset).resolution;
    const pick = chooseDataset(studio.datasets.listDatasets(), a.folder, trainsAt, a.resolution, a.crop);
    if (pick.existing) {
      say(
        { event: 'reuse', datasetId: pick.existing.id, resolution: pick.resolution, crop: pick.crop },
        `using the folder's dataset #${pick.existing.id} (${pick.resolution}², crop ${pick.crop})`,
      );
    }
    // Brings the cache up to date (only changed files are decoded again).
    const report = await studio.ingestOnce(a.folder, pick.resolution, pick.crop);
    say(
      {
        event: 'dataset',
        ...report,
        accepted: report.accepted.length,
        rejected: report.rejected.length,
        duplicates: report.duplicates.length,
      },
      `dataset ${report.dataset}: ${report.accepted.length} images at ${pick.resolution}², crop ${pick.crop} ` +
        `(${report.rejected.length} rejected, ${report.duplicates.length} duplicates)` +
        (trainsAt < pick.resolution ? `; the ${a.preset} preset trains at ${trainsAt}²` : ''),
    );
    const ds = studio.datasets
      .listDatasets()
      .find((d) => d.folder === report.dataset && d.resolution === pick.resolution && d.crop === pick.crop)!;

    let run: RunSummary;
    // Resume the run for this dataset and preset if there is one to resume; else create one.
    const existing = studio.training
      .listRuns()
      .find((r) => r.datasetId === ds.id && r.preset === a.preset && r.state !== 'running');
    if (existing && (existing.state !== 'done' || (a.kimg !== undefined && a.kimg > existing.kimg))) {
      if (a.kimg !== undefined) studio.training.extendRun(existing.id, a.kimg);
      // Asked for a backend: this resume trains on it (the trainer reports it and the run records it).
      if (a.backend !== undefined) studio.training.setRunBackend(existing.id, a.backend);
      run = existing;
      // Where it truly resumes: its last checkpoint (what was trained after that is done again).
      const from = studio.training.resumePoint(run.id);
      say({ event: 'resume', runId: run.id, kimg: from }, `resuming run #${run.id} at ${from.toFixed(3)} kimg`);
    } else {
      await studio.training.backendKnown(); // which presets fit depends on the GPU adapter too
      const lengths = defaultRunLengths(a.preset, a.kimg);
      const target = lengths.targetKimg;
      run = await studio.training.createRun({
        datasetId: ds.id,
        preset: a.preset,
        targetKimg: target,
        snapshotKimg: a.snapshotKimg ?? lengths.snapshotKimg,
        checkpointKimg: a.checkpointKimg ?? lengths.checkpointKimg,
        ...(a.checkpointMinutes !== undefined ? { checkpointMinutes: a.checkpointMinutes } : {}),
        ...(a.seed !== undefined ? { seed: a.seed } : {}),
        ...(a.backend !== undefined ? { backend: a.backend } : {}),
        ...(a.replicas !== undefined ? { replicas: a.replicas } : {}),
        ...(a.from !== undefined ? { initFrom: a.from } : {}),
        ...(a.freezeD !== undefined ? { freezeD: a.freezeD } : {}),
      });
      say(
        { event: 'created', runId: run.id, preset: a.preset, targetKimg: target },
        `created run #${run.id} (${a.preset}, ${target} kimg)`,
      );
      if (run.startedFrom) {
        // What the trainer will keep of the file, said before it starts (the plan it follows).
        const { note, ...report } = run.startedFrom;
        say({ event: 'transfer', runId: run.id, ...report }, note);
      }
    }
    const runId = run.id;
    studio.on('runTick', ({ runId: id, tick }) => {
      if (id !== runId) return;
      say(
        { event: 'tick', runId, ...tick },
        `kimg ${tick.kimg.toFixed(3)}  G ${tick.lossG?.toFixed(3)}  D ${tick.lossD?.toFixed(3)}  ` +
          `p ${tick.augmentP?.toFixed(3)}  ${tick.imagesPerSec?.toFixed(1)} img/s  ${tick.secPerKimg?.toFixed(0)} s/kimg`,
      );
    });
    studio.on(
      'runSnapshot',
      ({ runId: id, snapshot }) =>
        id === runId && say({ event: 'snapshot', runId, ...snapshot }, `snapshot ${snapshot.grid}`),
    );
    let lastState = '';
    const ended = new Promise<RunSummary>((resolve) => {
      studio.on('runChanged', (r) => {
        if (r.id !== runId) return;
        if (r.state !== lastState || r.error)
          say(
            { event: 'state', runId, state: r.state, kimg: r.kimg, backend: r.backend, error: r.error },
            `run #${runId} ${r.state}${r.backend ? ` on ${r.backend}` : ''}${r.error ? ` — ${r.error}` : ''}`,
          );
        lastState = r.state;
        if (r.state !== 'running' && r.state !== 'created') resolve(r);
      });
    });
    // Ctrl-C / SIGTERM / closed stdout: pause cleanly (the step in flight finishes, a checkpoint is
    // written), say so, and keep with the run that a quit paused it (the app's view says so too).
    let pausing: Promise<unknown> | null = null;
    const pause = (why: string): void => {
      if (pausing) return;
      const now = studio.training.listRuns().find((r) => r.id === runId)!;
      say({ event: 'pausing', runId }, pausingLine(now));
      if (!stdoutOpen) warn(`plumage train: ${why}: pausing run #${runId} with a checkpoint`);
      pausing = studio.training.pauseRun(runId, 'cli').catch(() => undefined);
    };
    const onSignal = (): void => pause('interrupted');
    onClosed = () => pause('stdout was closed');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    studio.training.startRun(runId);
    if (!stdoutOpen) pause('stdout was closed');
    let final = await ended;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (pausing) {
      await pausing; // the pause and its cause are recorded before the home is closed
      final = studio.training.getRun(runId);
      const home = studio.home === resolveHome() ? null : studio.home;
      const resume = resumeCommand(final, ds, home);
      const line = pausedLine(final, resume);
      say({ event: 'paused', runId, state: final.state, kimg: final.resumeKimg, resume }, line);
      if (!stdoutOpen) warn(`plumage train: ${line}`);
    }
    return final.state === 'crashed' ? 1 : 0;
  } finally {
    await studio.close();
  }
}
