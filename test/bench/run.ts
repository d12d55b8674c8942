import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PRESETS, type Preset } from '../../preload/contract.js';
import { presetConfig, type GanConfig } from '../../main/core/gan/config.js';
import { Studio } from '../../main/core/studio.js';
import { DEFAULT_RESOURCES_DIR } from '../../main/core/version.js';
import { networkOf } from './networks.js';
import { SAMPLE_PLATES, tempDir } from '../helpers/paths.js';

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/**
 * CPU seconds (user + system, every thread) a process has used, from /proc (Linux; null
 * elsewhere). On a busy machine wall time says little about replicas; CPU time per image says
 * what they cost in work, which is what two idle cores would turn into speed.
 */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return null;
  }
}

/**
 * `npm run bench -- run [--preset tiny] [--kimg K] [--replicas 1,2] [--network 128ch]`: a whole
 * headless run through the supervisor and a trainer process on the bundled plates, once per
 * replica count, side by side: s/kimg and images/s (the first tick, with kernel set-up, left
 * out), the share of wall time outside the training step (data, grids, checkpoints, IPC),
 * checkpoint write time, and RSS at start and end.
 */
export async function benchRun(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string' },
      kimg: { type: 'string' },
      replicas: { type: 'string' },
      network: { type: 'string' },
    },
  });
  const presets = values.preset ? [values.preset as Preset] : (['tiny', '64'] as Preset[]);
  const replicaCounts = values.replicas ? values.replicas.split(',').map(Number) : [undefined];
  const network = networkOf(values.network);
  for (const preset of presets) {
    if (!PRESETS.includes(preset)) throw new Error(`--preset must be one of ${PRESETS.join(', ')}`);
    const sides: Record<string, unknown>[] = [];
    for (const replicas of replicaCounts) sides.push(await oneRun(preset, replicas, values.kimg, network));
    if (sides.length === 1) {
      console.log(JSON.stringify({ bench: 'run', preset, ...sides[0] }));
      continue;
    }
    const rate = (s: Record<string, unknown>): number => (s.imagesPerSec as number | null) ?? NaN;
    console.log(
      JSON.stringify({
        bench: 'run',
        preset,
        network: values.network ?? preset,
        sides,
        speedup: round(rate(sides.at(-1)!) / rate(sides[0]!)),
      }),
    );
  }
}

async function oneRun(
  preset: Preset,
  replicas: number | undefined,
  kimgFlag: string | undefined,
  network: Partial<GanConfig> | undefined,
): Promise<Record<string, unknown>> {
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
    const kimg = Number(kimgFlag ?? (preset === 'tiny' ? 0.6 : 0.064));
    let run;
    try {
      run = await studio.training.createRun({
        datasetId: ds.id,
        preset,
        targetKimg: kimg,
        snapshotKimg: kimg / 4,
        checkpointKimg: kimg / 3,
        seed: 1,
        ...(replicas !== undefined ? { replicas } : {}),
      });
    } catch (err) {
      // A preset this backend cannot hold is refused before it starts: report it, do not crash.
      return { replicas, refused: (err as Error).message };
    }
    if (network) {
      // The benchmark's own network in the stored config, before the trainer reads it.
      const config = { ...(JSON.parse(studio.training.runs.getRun(run.id)!.config) as GanConfig), ...network };
      studio.db.prepare('UPDATE runs SET config = ? WHERE id = ?').run(JSON.stringify(config), run.id);
    }
    const timing: { step: number; wall: number }[] = [];
    const checkpointMs: number[] = [];
    const rss: number[] = [];
    const tickKimg: number[] = [];
    const started = performance.now();
    studio.training.startRun(run.id);
    const sup = studio.training.supervisorOf(run.id)!;
    sup.on('timing', (t) => {
      if (t.stepSeconds !== undefined) timing.push({ step: t.stepSeconds, wall: t.wallSeconds! });
      if (t.checkpointMs !== undefined) checkpointMs.push(t.checkpointMs);
    });
    const tickCpu: (number | null)[] = [];
    sup.on('tick', (t) => {
      rss.push(t.rssMB ?? 0);
      tickKimg.push(t.kimg);
      tickCpu.push(cpuSeconds(sup.pid));
    });
    await new Promise<void>((resolve) => sup.on('changed', (r) => r.state !== 'running' && resolve()));
    const final = studio.training.runs.getRun(run.id)!;
    // Steady state: the ticks after the first (which pays for kernel set-up and first-use allocations).
    const steady = timing.slice(1);
    const wall = steady.reduce((a, t) => a + t.wall, 0);
    const step = steady.reduce((a, t) => a + t.step, 0);
    const images = tickKimg.length > 1 ? (tickKimg.at(-1)! - tickKimg[0]!) * 1000 : 0;
    const imagesPerSec = wall > 0 && images > 0 ? images / wall : null;
    const [cpu0, cpu1] = [tickCpu[0], tickCpu.at(-1)];
    const cpuPerImage = images > 0 && cpu0 != null && cpu1 != null ? (cpu1 - cpu0) / images : null;
    return {
      replicas: JSON.parse(final.config).replicas ?? 1,
      state: final.state,
      ...(final.state !== 'done' ? { error: final.error } : {}),
      backend: final.backend,
      kimg: final.kimg,
      wallSecondsTotal: round((performance.now() - started) / 1000),
      imagesPerSec: imagesPerSec === null ? null : round(imagesPerSec, 3),
      secPerKimg: imagesPerSec === null ? null : round(1000 / imagesPerSec, 1),
      outsideStepShare: wall > 0 ? round(1 - step / wall, 4) : null,
      cpuSecondsPerKimg: cpuPerImage === null ? null : round(cpuPerImage * 1000, 1),
      cores: wall > 0 && cpu0 != null && cpu1 != null ? round((cpu1 - cpu0) / wall, 2) : null,
      checkpointWriteMs: checkpointMs.map((m) => round(m, 0)),
      checkpointBytes: studio.training.runs.latestCheckpoint(run.id)?.bytes ?? null,
      rssMBStart: rss[0] ?? null,
      rssMBEnd: rss.at(-1) ?? null,
      ticks: tickKimg.length,
    };
  } finally {
    await studio.close();
    tmp.cleanup();
  }
}
