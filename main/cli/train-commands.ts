/**
 * `plumage train` and `plumage runs`: training from a terminal or a GPU server, over the same
 * Studio and supervisor as the app. Ctrl-C pauses cleanly (checkpoint written); running the
 * same command again resumes.
 */
import { resolve } from 'node:path';
import { PRESETS } from '../../preload/contract.js';
import { CREATE_RUN_FIELDS, OPEN_DATASET_FIELDS } from '../core/api/validate.js';
import { presetConfig } from '../core/gan/config.js';
import { datasetFolder, fileProblem, folderProblem } from '../core/folders.js';
import { resolveHome } from '../core/home.js';
import { homeHolder } from '../core/home-lock.js';
import { DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { choiceFlag, numberFlag, UsageError, type CommandDef } from './usage.js';
import { say, sayJson } from './terminal.js';

export const runsCommand: CommandDef = {
  name: 'runs',
  synopsis: 'runs [--home DIR] [--json]',
  summary: 'Lists the training runs in the home (works beside a running train).',
  details: `  --json   an array with at least id, dataset, state, kimg, backend, lastCheckpoint`,
  options: { home: { type: 'string' }, json: { type: 'boolean', default: false } },
  async run(values) {
    // The studio (and with it tfjs, sharp, SQLite) loads only when a command runs, so usage
    // errors and --help answer at once.
    const { Studio } = await import('../core/studio.js');
    const studio = Studio.open({
      home: resolveHome(values.home as string | undefined),
      resourcesDir: DEFAULT_RESOURCES_DIR,
      shell: 'server',
      watch: false,
      readOnly: true,
    });
    try {
      const runs = await studio.listRuns();
      // 'running' is what the database says; whether anything trains is the lock's to say. A run
      // left 'running' by a process that was killed (kill -9) is resumed by the next start.
      const holder = homeHolder(studio.home);
      const interrupted = (state: string): boolean => state === 'running' && holder === null;
      if (values.json) {
        sayJson(
          runs.map((r) => ({
            ...r,
            dataset: r.datasetFolder,
            lastCheckpoint: r.lastCheckpoint?.path ?? null,
            interrupted: interrupted(r.state),
            holder: holder && { pid: holder.pid, command: holder.command, host: holder.host },
          })),
        );
      } else if (runs.length === 0) {
        say('no runs yet: plumage train --dataset <folder>');
      } else {
        for (const r of runs) {
          const state = interrupted(r.state) ? 'interrupted' : r.state;
          say(
            `#${r.id} ${state.padEnd(8)} ${r.preset.padEnd(5)} ${r.kimg.toFixed(2)}/${r.targetKimg} kimg  ` +
              `${r.datasetFolder}  ${r.backend ?? ''}${r.error ? `  (${r.error})` : ''}`,
          );
          if (interrupted(r.state))
            say(
              `   no process holds the home: the one that trained run #${r.id} is gone (killed or crashed). ` +
                `The next start of Plumage on this home takes it up: Resume (or plumage train on its dataset) ` +
                `continues from ${r.resumeKimg.toFixed(3)} kimg.`,
            );
          else if (r.state === 'running' && holder)
            say(`   training in pid ${holder.pid} (${holder.command}), since ${holder.startedAt}`);
        }
      }
      return 0;
    } finally {
      await studio.close();
    }
  },
};

export const trainCommand: CommandDef = {
  name: 'train',
  synopsis:
    'train --dataset <folder> [--preset tiny|64|…] [--kimg K] [--resolution N] [--crop MODE] [--backend B] [--from FILE [--freeze-d N]] [--home DIR] [--json]',
  summary: 'Trains (or resumes) a run on a folder. Ctrl-C pauses with a checkpoint; run it again to resume.',
  details: `  --dataset FOLDER        the images; the folder's existing dataset is reused when it fits
  --preset NAME           ${PRESETS.join(', ')} (default tiny: 32², trains from any dataset)
  --kimg K                length in kimg (thousands of real images shown to D; default 1000);
                          on a run being resumed, its new total length
  --resolution N          the dataset's resolution when a new one is made (default: the preset's, at least 64)
  --crop MODE             centre, subject or pad, when a new one is made (default centre)
  --snapshot-kimg K       a sample grid every K kimg       --checkpoint-kimg K   a checkpoint every K kimg
  --checkpoint-minutes M  and at least every M minutes     --seed S              the run's seed
  --backend B             cuda, webgpu, cpu-native, wasm or cpu (default: the best one present); kept on resume
  --replicas N            split each batch over N worker threads, one core each (wasm and cpu only;
                          default: one per core, at most 4, as the batch allows); kept on resume
  --from FILE             a new run starts from this network file (a checkpoint, a reference export or an
                          NVIDIA .pkl): G, G_ema and D, its architecture, the preset's resolution
  --freeze-d N            Freeze-D: D's first N layers keep their weights (the reference's --freezed)
  --json                  JSON lines: dataset, created/resume, state, tick, snapshot
Exit code 0 when the run finished or paused, 1 when it crashed or could not start, 2 for a usage error.
A closed stdout (train … | head) pauses the run with a checkpoint, as Ctrl-C does.`,
  options: {
    dataset: { type: 'string' },
    preset: { type: 'string' },
    kimg: { type: 'string' },
    resolution: { type: 'string' },
    crop: { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean', default: false },
    seed: { type: 'string' },
    'snapshot-kimg': { type: 'string' },
    'checkpoint-kimg': { type: 'string' },
    'checkpoint-minutes': { type: 'string' },
    backend: { type: 'string' },
    replicas: { type: 'string' },
    from: { type: 'string' },
    'freeze-d': { type: 'string' },
  },
  async run(values) {
    if (values.dataset === undefined) throw new UsageError('--dataset <folder> is required');
    const preset = choiceFlag(values, 'preset', CREATE_RUN_FIELDS.preset) ?? 'tiny';
    const kimg = numberFlag(values, 'kimg', CREATE_RUN_FIELDS.targetKimg);
    const snapshotKimg = numberFlag(values, 'snapshot-kimg', CREATE_RUN_FIELDS.snapshotKimg);
    const checkpointKimg = numberFlag(values, 'checkpoint-kimg', CREATE_RUN_FIELDS.checkpointKimg);
    const checkpointMinutes = numberFlag(values, 'checkpoint-minutes', CREATE_RUN_FIELDS.checkpointMinutes);
    const seed = numberFlag(values, 'seed', CREATE_RUN_FIELDS.seed);
    const resolution = numberFlag(values, 'resolution', OPEN_DATASET_FIELDS.resolution);
    const crop = choiceFlag(values, 'crop', OPEN_DATASET_FIELDS.crop);
    const backend = choiceFlag(values, 'backend', CREATE_RUN_FIELDS.backend);
    const replicas = numberFlag(values, 'replicas', CREATE_RUN_FIELDS.replicas);
    const freezeD = numberFlag(values, 'freeze-d', CREATE_RUN_FIELDS.freezeD);
    const from = values.from === undefined ? undefined : resolve(values.from as string);
    if (from !== undefined) {
      const missing = await fileProblem(from, 'network file');
      if (missing) throw new Error(missing);
    }
    const trainsAt = presetConfig(preset).resolution;
    if (resolution !== undefined && resolution % trainsAt !== 0)
      throw new UsageError(
        `--resolution ${resolution} cannot feed the ${preset} preset (it trains at ${trainsAt}²): use a multiple of ${trainsAt}`,
      );
    const problem = await folderProblem(values.dataset as string);
    const folder = await datasetFolder(values.dataset as string); // as the studio keeps it
    if (problem) throw new Error(problem);
    const { train } = await import('./train-run.js');
    return train({
      values,
      folder,
      preset,
      kimg,
      snapshotKimg,
      checkpointKimg,
      checkpointMinutes,
      seed,
      resolution,
      crop,
      backend,
      replicas,
      from,
      freezeD,
    });
  },
};
