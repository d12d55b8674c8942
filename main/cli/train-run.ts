/**
 * The body of `plumage train`, once its flags and folder are checked: the core's "train this
 * folder" (core/train/train-folder.ts) chooses the dataset and the run; this says each decision,
 * starts the run, reports it, and pauses it cleanly on Ctrl-C, SIGTERM or a closed stdout.
 */
import type { BackendChoice, CropMode, Preset, Resolution, RunSummary } from '../../preload/contract.js';
import { resolveHome } from '../core/home.js';
import { Studio } from '../core/studio.js';
import type { KeptSetting, TrainFolderStep } from '../core/train/train-folder.js';
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
    const chosen = await studio.trainFolder(
      {
        folder: a.folder,
        preset: a.preset,
        ...(a.resolution !== undefined ? { resolution: a.resolution } : {}),
        ...(a.crop !== undefined ? { crop: a.crop } : {}),
        ...(a.kimg !== undefined ? { targetKimg: a.kimg } : {}),
        ...(a.snapshotKimg !== undefined ? { snapshotKimg: a.snapshotKimg } : {}),
        ...(a.checkpointKimg !== undefined ? { checkpointKimg: a.checkpointKimg } : {}),
        ...(a.checkpointMinutes !== undefined ? { checkpointMinutes: a.checkpointMinutes } : {}),
        ...(a.seed !== undefined ? { seed: a.seed } : {}),
        ...(a.backend !== undefined ? { backend: a.backend } : {}),
        ...(a.replicas !== undefined ? { replicas: a.replicas } : {}),
        ...(a.from !== undefined ? { initFrom: a.from } : {}),
        ...(a.freezeD !== undefined ? { freezeD: a.freezeD } : {}),
      },
      (s) => sayStep(s, a.preset, say),
    );
    const run = chosen.run;
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
      pausing = studio
        .listRuns()
        .then((runs) => {
          say({ event: 'pausing', runId }, pausingLine(runs.find((r) => r.id === runId)!));
          if (!stdoutOpen) warn(`plumage train: ${why}: pausing run #${runId} with a checkpoint`);
          return studio.pauseRun({ runId }, 'cli');
        })
        .catch(() => undefined);
    };
    const onSignal = (): void => pause('interrupted');
    onClosed = () => pause('stdout was closed');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await studio.startRun({ runId });
    if (!stdoutOpen) pause('stdout was closed');
    let final = await ended;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (pausing) {
      await pausing; // the pause and its cause are recorded before the home is closed
      final = await studio.getRun({ runId });
      const home = studio.home === resolveHome() ? null : studio.home;
      const resume = resumeCommand(
        final,
        { folder: chosen.ingest.dataset, resolution: chosen.ingest.resolution, crop: chosen.ingest.crop },
        home,
      );
      const line = pausedLine(final, resume);
      say({ event: 'paused', runId, state: final.state, kimg: final.resumeKimg, resume }, line);
      if (!stdoutOpen) warn(`plumage train: ${line}`);
    }
    return final.state === 'crashed' ? 1 : 0;
  } finally {
    await studio.close();
  }
}

/** Says each decision of the workflow as it is made (the same lines and JSON events as before it moved). */
function sayStep(s: TrainFolderStep, preset: Preset, say: (obj: Record<string, unknown>, text: string) => void): void {
  switch (s.step) {
    case 'reuse':
      return say(
        { event: 'reuse', datasetId: s.datasetId, resolution: s.resolution, crop: s.crop },
        `using the folder's dataset #${s.datasetId} (${s.resolution}², crop ${s.crop})`,
      );
    case 'dataset': {
      const r = s.ingest;
      return say(
        { event: 'dataset', ...r },
        (r.folderGone
          ? `the folder ${r.dataset} is gone; training on its dataset's cache: `
          : `dataset ${r.dataset}: `) +
          `${r.accepted} images at ${r.resolution}², crop ${r.crop} ` +
          `(${r.rejected} rejected, ${r.duplicates} duplicates)` +
          (s.trainsAt < r.resolution ? `; the ${preset} preset trains at ${s.trainsAt}²` : ''),
      );
    }
    case 'resume':
      return say(
        { event: 'resume', runId: s.run.id, kimg: s.fromKimg, kept: s.kept },
        `resuming run #${s.run.id} at ${s.fromKimg.toFixed(3)} kimg` +
          (s.kept.length > 0
            ? `\nrun #${s.run.id} keeps its own ${s.kept.map(keptWords).join(', ')}: ${s.kept.length > 1 ? 'they apply' : 'it applies'} to a new run`
            : ''),
      );
    case 'created': {
      const { run } = s;
      say(
        { event: 'created', runId: run.id, preset, targetKimg: run.targetKimg },
        `created run #${run.id} (${preset}, ${run.targetKimg} kimg)`,
      );
      if (run.startedFrom) {
        // What the trainer will keep of the file, said before it starts (the plan it follows).
        const { note, ...report } = run.startedFrom;
        say({ event: 'transfer', runId: run.id, ...report }, note);
      }
    }
  }
}

/** A kept setting as the run has it and the flag that asked otherwise: "seed 12 (not --seed 5)". */
function keptWords(k: KeptSetting): string {
  const [words, flag] = KEPT_WORDS[k.field];
  return `${words(k.kept)} (not --${flag} ${k.asked})`;
}

const KEPT_WORDS: Record<KeptSetting['field'], [(v: number) => string, string]> = {
  seed: [(v) => `seed ${v}`, 'seed'],
  snapshotKimg: [(v) => `sample grid every ${v} kimg`, 'snapshot-kimg'],
  checkpointKimg: [(v) => `checkpoint every ${v} kimg`, 'checkpoint-kimg'],
  checkpointMinutes: [(v) => `checkpoint at least every ${v} minutes`, 'checkpoint-minutes'],
  replicas: [(v) => `${v} replica${v === 1 ? '' : 's'}`, 'replicas'],
  freezeD: [(v) => `Freeze-D of ${v} layers`, 'freeze-d'],
};
