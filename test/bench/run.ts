import { parseArgs } from 'node:util';
import { PRESETS, type Preset } from '../../preload/contract.js';
import { presetConfig } from '../../main/core/gan/config.js';
import { Studio } from '../../main/core/studio.js';
import { DEFAULT_RESOURCES_DIR } from '../../main/core/version.js';
import { SAMPLE_PLATES, tempDir } from '../helpers/paths.js';

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/**
 * `npm run bench -- run [--preset tiny] [--kimg K]`: a whole headless run through the supervisor
 * and a trainer process on the bundled plates, reporting s/kimg, the share of wall time outside
 * the training step (data, grids, checkpoints, IPC), checkpoint write time, and RSS at start and end.
 */
export async function benchRun(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { preset: { type: 'string' }, kimg: { type: 'string' } } });
  const presets = values.preset ? [values.preset as Preset] : (['tiny', '64'] as Preset[]);
  for (const preset of presets) {
    if (!PRESETS.includes(preset)) throw new Error(`--preset must be one of ${PRESETS.join(', ')}`);
    const tmp = tempDir('bench-run');
    const studio = Studio.open({
      home: tmp.dir,
      resourcesDir: DEFAULT_RESOURCES_DIR,
      shell: 'server',
      watch: false,
      training: { tickSeconds: 1, maxRestarts: 0 },
    });
    try {
      const resolution = Math.max(64, presetConfig(preset).resolution) as 64;
      await studio.ingestOnce(SAMPLE_PLATES, resolution, 'centre');
      const ds = studio.datasets.listDatasets()[0]!;
      const kimg = Number(values.kimg ?? (preset === 'tiny' ? 0.6 : 0.064));
      let run;
      try {
        run = studio.training.createRun({
          datasetId: ds.id,
          preset,
          targetKimg: kimg,
          snapshotKimg: kimg / 4,
          checkpointKimg: kimg / 3,
          seed: 1,
        });
      } catch (err) {
        // A preset this backend cannot hold is refused before it starts: report it, do not crash.
        console.log(JSON.stringify({ bench: 'run', preset, refused: (err as Error).message }));
        continue;
      }
      let step = 0;
      let wall = 0;
      const checkpointMs: number[] = [];
      const rss: number[] = [];
      const started = performance.now();
      studio.training.startRun(run.id);
      const sup = studio.training.supervisorOf(run.id)!;
      sup.on('timing', (t) => {
        if (t.stepSeconds !== undefined) {
          step += t.stepSeconds;
          wall += t.wallSeconds!;
        }
        if (t.checkpointMs !== undefined) checkpointMs.push(t.checkpointMs);
      });
      sup.on('tick', (t) => rss.push(t.rss_mb ?? 0));
      await new Promise<void>((resolve) => sup.on('changed', (r) => r.state !== 'running' && resolve()));
      const final = studio.training.runs.getRun(run.id)!;
      const ticks = studio.training.runs.listTicks(run.id);
      const secPerKimg = ticks.length ? ticks.reduce((a, t) => a + (t.sec_per_kimg ?? 0), 0) / ticks.length : null;
      console.log(
        JSON.stringify({
          bench: 'run',
          preset,
          state: final.state,
          ...(final.state !== 'done' ? { error: final.error } : {}),
          backend: final.backend,
          kimg: final.kimg,
          wallSecondsTotal: round((performance.now() - started) / 1000),
          secPerKimg: secPerKimg === null ? null : round(secPerKimg, 1),
          outsideStepShare: wall > 0 ? round(1 - step / wall, 4) : null,
          checkpointWriteMs: checkpointMs.map((m) => round(m, 0)),
          checkpointBytes: studio.training.runs.latestCheckpoint(run.id)?.bytes ?? null,
          rssMBStart: rss[0] ?? null,
          rssMBEnd: rss.at(-1) ?? null,
          ticks: ticks.length,
        }),
      );
    } finally {
      await studio.close();
      tmp.cleanup();
    }
  }
}
