/**
 * `plumage train` and `plumage runs`: training from a terminal or a GPU server, over the same
 * Studio and supervisor as the app. Ctrl-C pauses cleanly (checkpoint written); running the
 * same command again resumes.
 */
import { parseArgs } from 'node:util';
import { PRESETS, type Preset, type RunSummary } from '../../preload/contract.js';
import { BACKEND_NAMES, isBackendName } from '../core/gan/backend-info.js';
import { presetConfig } from '../core/gan/config.js';
import { resolveHome } from '../core/home.js';
import { Studio } from '../core/studio.js';
import { DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { UsageError } from './usage.js';

export async function trainCommand(command: 'train' | 'runs', argv: string[]): Promise<number> {
  if (command === 'runs') {
    const { values } = parseArgs({
      args: argv,
      options: { home: { type: 'string' }, json: { type: 'boolean', default: false } },
    });
    const studio = Studio.open({
      home: resolveHome(values.home),
      resourcesDir: DEFAULT_RESOURCES_DIR,
      shell: 'server',
      watch: false,
      readOnly: true,
    });
    try {
      const runs = studio.training.listRuns();
      if (values.json) {
        console.log(
          JSON.stringify(
            runs.map((r) => ({ ...r, dataset: r.datasetFolder, lastCheckpoint: r.lastCheckpoint?.path ?? null })),
          ),
        );
      } else if (runs.length === 0) {
        console.log('no runs yet: plumage train --dataset <folder>');
      } else {
        for (const r of runs) {
          console.log(
            `#${r.id} ${r.state.padEnd(8)} ${r.preset.padEnd(5)} ${r.kimg.toFixed(2)}/${r.targetKimg} kimg  ${r.datasetFolder}  ${r.backend ?? ''}${r.error ? `  (${r.error})` : ''}`,
          );
        }
      }
      return 0;
    } finally {
      await studio.close();
    }
  }

  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string' },
      preset: { type: 'string', default: 'tiny' },
      kimg: { type: 'string' },
      home: { type: 'string' },
      json: { type: 'boolean', default: false },
      seed: { type: 'string' },
      'snapshot-kimg': { type: 'string' },
      'checkpoint-kimg': { type: 'string' },
      backend: { type: 'string' },
    },
  });
  if (!values.dataset) throw new UsageError('--dataset <folder> is required');
  const preset = values.preset as Preset;
  if (!PRESETS.includes(preset)) throw new UsageError(`--preset must be one of ${PRESETS.join(', ')}`);
  const kimg = values.kimg === undefined ? undefined : Number(values.kimg);
  const backend = values.backend;
  if (backend !== undefined && !isBackendName(backend))
    throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}`);
  if (kimg !== undefined && !(kimg > 0))
    throw new UsageError('--kimg must be a positive number (thousands of real images shown to D)');
  const say = (obj: Record<string, unknown>, text: string): void => {
    if (values.json) console.log(JSON.stringify(obj));
    else console.log(text);
  };

  const studio = Studio.open({
    home: resolveHome(values.home),
    resourcesDir: DEFAULT_RESOURCES_DIR,
    shell: 'server',
    watch: false,
  });
  let run: RunSummary | undefined;
  try {
    // The dataset, at the preset's resolution (the tiny preset trains at 32² from a 64² cache).
    const resolution = Math.max(64, presetConfig(preset).resolution) as 64;
    const report = await studio.ingestOnce(values.dataset, resolution, 'centre');
    say(
      {
        event: 'dataset',
        ...report,
        accepted: report.accepted.length,
        rejected: report.rejected.length,
        duplicates: report.duplicates.length,
      },
      `dataset ${report.dataset}: ${report.accepted.length} images at ${resolution}² (${report.rejected.length} rejected, ${report.duplicates.length} duplicates)`,
    );
    const ds = studio.datasets
      .listDatasets()
      .find((d) => d.folder === report.dataset && d.resolution === resolution && d.crop === 'centre')!;

    // Resume the run for this dataset and preset if there is one to resume; else create one.
    const existing = studio.training
      .listRuns()
      .find((r) => r.datasetId === ds.id && r.preset === preset && r.state !== 'running');
    if (existing && (existing.state !== 'done' || (kimg !== undefined && kimg > existing.kimg))) {
      if (kimg !== undefined) studio.training.extendRun(existing.id, kimg);
      run = existing;
      // Where it truly resumes: its last checkpoint (what was trained after that is done again).
      const from = studio.training.resumePoint(run.id);
      say({ event: 'resume', runId: run.id, kimg: from }, `resuming run #${run.id} at ${from.toFixed(3)} kimg`);
    } else {
      await studio.training.backendKnown(); // which presets fit depends on the GPU adapter too
      const target = kimg ?? 1000;
      run = studio.training.createRun({
        datasetId: ds.id,
        preset,
        targetKimg: target,
        snapshotKimg: Number(values['snapshot-kimg'] ?? Math.min(4, target / 4)),
        checkpointKimg: Number(values['checkpoint-kimg'] ?? Math.min(10, target / 2)),
        ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
        ...(backend !== undefined ? { backend } : {}),
      });
      say(
        { event: 'created', runId: run.id, preset, targetKimg: target },
        `created run #${run.id} (${preset}, ${target} kimg)`,
      );
    }
    const runId = run.id;
    studio.on('runTick', ({ runId: id, tick }) => {
      if (id !== runId) return;
      say(
        { event: 'tick', runId, ...tick },
        `kimg ${tick.kimg.toFixed(3)}  G ${tick.lossG?.toFixed(3)}  D ${tick.lossD?.toFixed(3)}  p ${tick.augmentP?.toFixed(3)}  ${tick.imagesPerSec?.toFixed(1)} img/s  ${tick.secPerKimg?.toFixed(0)} s/kimg`,
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
    // Ctrl-C / SIGTERM: pause cleanly (the step in flight finishes, a checkpoint is written).
    const pause = (): void => {
      say({ event: 'pausing', runId }, 'pausing: finishing the step and writing a checkpoint…');
      void studio.training.pauseRun(runId);
    };
    process.once('SIGINT', pause);
    process.once('SIGTERM', pause);
    studio.training.startRun(runId);
    const final = await ended;
    process.off('SIGINT', pause);
    process.off('SIGTERM', pause);
    return final.state === 'crashed' ? 1 : 0;
  } finally {
    await studio.close();
  }
}
