/**
 * `npm run bench -- kid-beside [--preset tiny] [--kimg K] [--images 1000] [--repeats 1]`: how much
 * scoring each checkpoint beside the trainer slows it (issue #20's target: at most a few
 * per cent). The same headless run twice per repeat, alternating so a changing load weighs on
 * both alike: once with its checkpoints scored (the Studio's scorer: a nice-19 generator process,
 * one score at a time, `--images` birds each) and once with scoring off. Each side's images/s
 * comes from the trainer's own timing of its steady ticks (the first, with kernel set-up, left
 * out); `scorerBusyShare` says for how much of the scored side's window a score was running
 * (a ratio over a window where none ran would measure nothing). One JSON line.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { PRESETS, type Preset } from '../../preload/contract.js';
import { presetConfig } from '../../main/core/gan/config.js';
import { Studio } from '../../main/core/studio.js';
import { DEFAULT_RESOURCES_DIR } from '../../main/core/version.js';
import { SAMPLE_PLATES, tempDir } from '../helpers/paths.js';

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

interface Side {
  scored: boolean;
  imagesPerSec: number | null;
  scorerBusyShare: number | null;
  scores: number;
  ticks: number;
  loadAverage: number;
}

export async function benchKidBeside(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: 'tiny' },
      kimg: { type: 'string' },
      images: { type: 'string', default: '1000' },
      repeats: { type: 'string', default: '1' },
    },
  });
  const preset = values.preset as Preset;
  if (!PRESETS.includes(preset)) throw new Error(`--preset must be one of ${PRESETS.join(', ')}`);
  const kimg = Number(values.kimg ?? (preset === 'tiny' ? 0.4 : 0.064));
  const images = Number(values.images);
  const sides: Side[] = [];
  for (let r = 0; r < Number(values.repeats); r++) {
    // Alternate which side goes first: a load that rises through the bench favours neither.
    const order = r % 2 === 0 ? [false, true] : [true, false];
    for (const scored of order) sides.push(await oneSide(preset, kimg, scored ? images : 0));
  }
  const mean = (scored: boolean): number => {
    const rates = sides.filter((s) => s.scored === scored && s.imagesPerSec !== null).map((s) => s.imagesPerSec!);
    return rates.reduce((a, b) => a + b, 0) / rates.length;
  };
  const alone = mean(false);
  const beside = mean(true);
  console.log(
    JSON.stringify({
      bench: 'kid-beside',
      preset,
      kimg,
      images,
      imagesPerSecAlone: round(alone),
      imagesPerSecWithScorer: round(beside),
      // > 1: the trainer is that much slower with the scorer beside it (target ≤ 1.05).
      slowdown: round(alone / beside),
      sides,
    }),
  );
}

async function oneSide(preset: Preset, kimg: number, kidImages: number): Promise<Side> {
  const tmp = tempDir('bench-kid');
  const studio = Studio.open({
    home: tmp.dir,
    resourcesDir: DEFAULT_RESOURCES_DIR,
    shell: 'server',
    watch: false,
    scoreCheckpoints: true,
    training: { tickSeconds: 1, maxRestarts: 0 },
  });
  try {
    const resolution = Math.max(64, presetConfig(preset).resolution) as 64;
    await studio.ingestOnce(SAMPLE_PLATES, resolution, 'centre');
    const ds = studio.datasets.listDatasets()[0]!;
    const run = await studio.training.createRun({
      datasetId: ds.id,
      preset,
      targetKimg: kimg,
      snapshotKimg: kimg,
      // Early and often: the scorer has work from the first minutes to the end.
      checkpointKimg: kimg / 8,
      seed: 1,
      kidImages,
    });
    const timing: { step: number; wall: number }[] = [];
    studio.training.startRun(run.id);
    const sup = studio.training.supervisorOf(run.id)!;
    sup.on('timing', (t) => {
      if (t.stepSeconds !== undefined) timing.push({ step: t.stepSeconds, wall: t.wallSeconds! });
    });
    // Whether a score ran, sampled 4× a second.
    let busySamples = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      if (timing.length < 1) return; // the steady window starts after the first tick
      samples++;
      if (studio.scorer.scoring) busySamples++;
    }, 250);
    await new Promise<void>((resolve) => sup.on('changed', (r) => r.state !== 'running' && resolve()));
    clearInterval(sampler);
    const steady = timing.slice(1);
    const wall = steady.reduce((a, t) => a + t.wall, 0);
    // The steady ticks' wall time covers the images from the first tick's kimg to the last's.
    const final = studio.training.runs.getRun(run.id)!;
    const ticks = studio.training.runs.listTicks(run.id);
    const steadyImages = ticks.length > 1 ? (ticks.at(-1)!.kimg - ticks[0]!.kimg) * 1000 : 0;
    return {
      scored: kidImages > 0,
      imagesPerSec: wall > 0 && steadyImages > 0 && final.state === 'done' ? steadyImages / wall : null,
      scorerBusyShare: kidImages > 0 && samples > 0 ? round(busySamples / samples, 2) : null,
      scores: studio.scores.listForRun(run.id).length,
      ticks: ticks.length,
      loadAverage: round(loadavg()[0]!, 1),
    };
  } finally {
    await studio.close();
    tmp.cleanup();
  }
}
