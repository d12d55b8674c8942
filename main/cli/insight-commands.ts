/**
 * `plumage metrics`, `plumage nearest` and `plumage directions`: the quality score, the closest
 * training plates and the directions in w, over the same Studio (and the same request fields)
 * as the app. Work runs in this process; the home is opened read-only, so these work beside a
 * running `train`.
 */
import { resolve } from 'node:path';
import type { GeneratorRef } from '../../preload/contract.js';
import { CREATE_RUN_FIELDS } from '../core/api/validate.js';
import { INSIGHT_FIELDS } from '../core/api/validate-insight.js';
import { GALLERY_FIELDS } from '../core/api/validate-gallery.js';
import { fileProblem } from '../core/folders.js';
import type { BackendName } from '../core/gan/backend.js';
import { insideFilteredChild, rerunFiltered } from './dawn-child.js';
import { resolveHome } from '../core/home.js';
import { DEFAULT_METRIC_IMAGES, DEFAULT_NEIGHBOURS } from '../core/insight/service.js';
import type { Studio } from '../core/studio.js';
import { DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { choiceFlag, numberFlag, required, UsageError, type CommandDef, type FlagValues } from './usage.js';

const F = INSIGHT_FIELDS;
const G = GALLERY_FIELDS;
const BACKEND_FIELD = CREATE_RUN_FIELDS.backend.unwrap();

/** The studio (and with it tfjs, sharp, SQLite) loads only when a command runs: --help answers at once. */
export async function openReadOnly(home: string | undefined): Promise<Studio> {
  const { Studio } = await import('../core/studio.js');
  return Studio.open({
    home: resolveHome(home),
    resourcesDir: DEFAULT_RESOURCES_DIR,
    shell: 'server',
    watch: false,
    readOnly: true,
    galleryInProcess: true,
  });
}

/** `--run R [--checkpoint ID]` or `--checkpoint FILE`. */
async function generatorFlag(v: FlagValues): Promise<GeneratorRef> {
  if (v.run === undefined) {
    if (v.checkpoint === undefined) throw new UsageError('give --run R or --checkpoint FILE');
    const file = resolve(v.checkpoint as string);
    const problem = await fileProblem(file, 'checkpoint');
    if (problem) throw new Error(problem);
    return { file };
  }
  const runId = numberFlag(v, 'run', G.id)!;
  return v.checkpoint !== undefined ? { runId, checkpointId: numberFlag(v, 'checkpoint', G.id)! } : { runId };
}

const progressLine = (json: boolean) => (p: { phase: string; done: number; total: number }) => {
  if (json) return;
  const what = p.phase === 'reals' ? 'training images' : p.phase === 'birds' ? 'generated birds' : 'scoring';
  if (p.phase !== 'scoring') process.stderr.write(`\r${what}: ${p.done}/${p.total}   `);
  if (p.done === p.total) process.stderr.write('\n');
};

export const metricsCommand: CommandDef = {
  name: 'metrics',
  synopsis:
    'metrics (--run N [--checkpoint C] | --checkpoint FILE) [--dataset DIR] [--images 1000] [--backend B] ' +
    '[--home DIR] [--json]',
  summary: 'Plumage KID (InceptionV3 mixed5) and the memorisation rate of a checkpoint against a dataset.',
  details: [
    "  --dataset DIR  an ingested folder (default: the run's own dataset)",
    `  --images N     generated birds, seeds 0…N−1 at ψ 1 (default ${DEFAULT_METRIC_IMAGES})`,
    '  --json         {kid, kidStd, images, memorisation, reals, subsetSize, label}',
    "  KID is Plumage's own score (unbiased; with its spread over subsets): lower is closer to the",
    '  dataset. It is not comparable with published FIDs. The memorisation rate is the share of birds',
    '  nearer a training image than training images are to each other.',
  ].join('\n'),
  options: {
    run: { type: 'string' },
    checkpoint: { type: 'string' },
    dataset: { type: 'string' },
    images: { type: 'string' },
    backend: { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  async run(v) {
    const generator = await generatorFlag(v);
    const images = numberFlag(v, 'images', F.images) ?? DEFAULT_METRIC_IMAGES;
    if ('file' in generator && v.dataset === undefined) throw new UsageError('a --checkpoint FILE needs --dataset DIR');
    // Flags are checked above, in this process; the drawing happens in a child whose stderr is filtered.
    if (!insideFilteredChild()) return rerunFiltered('metrics');
    const studio = await openReadOnly(v.home as string | undefined);
    try {
      await initBackend(backendFlag(v));
      const info = await studio.gallery.openGenerator(generator);
      const datasetId =
        v.dataset !== undefined ? studio.insight.datasetForFolder(v.dataset as string, info.resolution).id : undefined;
      const r = await studio.insight.computeMetrics(
        { generator, images, ...(datasetId !== undefined ? { datasetId } : {}) },
        progressLine(v.json === true),
      );
      if (v.json) {
        const { generator: g, ...rest } = r;
        console.log(JSON.stringify({ ...rest, generator: g.file }));
      } else {
        console.log(`${r.label}: ${r.kid.toFixed(5)} ± ${r.kidStd.toFixed(5)}`);
        console.log(`  against ${r.reals} training images (subsets of ${r.subsetSize}), from ${r.generator.file}`);
        console.log(`  memorisation: ${(r.memorisation * 100).toFixed(1)} % of birds copy a training image`);
      }
      return 0;
    } finally {
      await studio.close();
    }
  },
};

export const nearestCommand: CommandDef = {
  name: 'nearest',
  synopsis:
    'nearest (--image FILE | --checkpoint FILE --seed S [--psi 0.7] [--noise const|random]) --dataset DIR [--k 5] ' +
    '[--home DIR] [--json]',
  summary: "The training images nearest to an image or a bird, in the feature network's space.",
  details: [
    '  Distances are Euclidean between InceptionV3 mixed5 features (0: the same image).',
    '  --json   {neighbours: [{file, distance}], side}, nearest first',
  ].join('\n'),
  options: {
    image: { type: 'string' },
    checkpoint: { type: 'string' },
    seed: { type: 'string' },
    psi: { type: 'string', default: '0.7' },
    noise: { type: 'string', default: 'const' },
    dataset: { type: 'string' },
    k: { type: 'string' },
    backend: { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  async run(v) {
    if ((v.image === undefined) === (v.checkpoint === undefined))
      throw new UsageError('give --image FILE, or --checkpoint FILE with --seed S');
    const dataset = required(v.dataset as string | undefined, 'dataset', 'DIR');
    const k = numberFlag(v, 'k', F.k) ?? DEFAULT_NEIGHBOURS;
    const seed = v.checkpoint !== undefined ? required(numberFlag(v, 'seed', G.seed), 'seed', 'S') : undefined;
    if (v.image !== undefined && v.seed !== undefined)
      throw new UsageError('--seed goes with --checkpoint, not --image');
    // The core refuses what is not a readable regular image file, with the path in its words.
    const image = v.image !== undefined ? resolve(v.image as string) : undefined;
    const generator = v.checkpoint !== undefined ? await generatorFlag({ checkpoint: v.checkpoint }) : undefined;
    // Flags are checked above, in this process; the drawing happens in a child whose stderr is filtered.
    if (!insideFilteredChild()) return rerunFiltered('nearest');
    const studio = await openReadOnly(v.home as string | undefined);
    try {
      await initBackend(backendFlag(v));
      const side = generator ? (await studio.gallery.openGenerator(generator)).resolution : null;
      const datasetId = studio.insight.datasetForFolder(dataset, side).id;
      const r = await studio.insight.findNearest(
        image !== undefined
          ? { datasetId, k, image }
          : {
              datasetId,
              k,
              bird: {
                generator: generator!,
                seed: seed!,
                psi: numberFlag(v, 'psi', G.psi)!,
                noiseMode: choiceFlag(v, 'noise', G.noiseMode)!,
              },
            },
      );
      if (v.json)
        console.log(
          JSON.stringify({
            neighbours: r.neighbours.map((n) => ({ file: n.file, distance: n.distance })),
            side: r.side,
          }),
        );
      else r.neighbours.forEach((n, i) => console.log(`${i + 1}. ${n.distance.toFixed(4)}  ${n.file}`));
      return 0;
    } finally {
      await studio.close();
    }
  },
};

export const directionsCommand: CommandDef = {
  name: 'directions',
  synopsis:
    'directions (--checkpoint FILE | --run N [--checkpoint C]) [--method sefa|ganspace] ' +
    '[--layers all|coarse|middle|fine|LO-HI] [--home DIR] [--json]',
  summary: 'Meaningful directions in w (SeFa or GANSpace), strongest first; draw along one with generate --direction.',
  details: [
    "  SeFa: eigenvectors of the chosen layers' style weights (no sampling). GANSpace: principal",
    "  components of 10,000 sampled w's. Computed once per generator and cached in the home.",
    "  --json   {method, layers, strengths}: direction K is strengths[K]'s",
  ].join('\n'),
  options: {
    run: { type: 'string' },
    checkpoint: { type: 'string' },
    method: { type: 'string', default: 'sefa' },
    layers: { type: 'string', default: 'all' },
    backend: { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  async run(v) {
    const generator = await generatorFlag(v);
    const method = choiceFlag(v, 'method', F.method)!;
    const layers = choiceFlag(v, 'layers', F.layers)!;
    // Flags are checked above, in this process; the drawing happens in a child whose stderr is filtered.
    if (!insideFilteredChild()) return rerunFiltered('directions');
    const studio = await openReadOnly(v.home as string | undefined);
    try {
      await initBackend(backendFlag(v));
      const r = await studio.insight.computeDirections({ generator, method, layers });
      if (v.json) console.log(JSON.stringify(r));
      else {
        console.log(`${method === 'sefa' ? 'SeFa' : 'GANSpace'} directions over layers ${r.layers}:`);
        r.strengths.forEach((s, k) => console.log(`  #${k}  ${s.toPrecision(4)}`));
      }
      return 0;
    } finally {
      await studio.close();
    }
  },
};

function backendFlag(v: FlagValues) {
  if (v.backend === undefined) return undefined;
  return choiceFlag(v, 'backend', BACKEND_FIELD);
}

/** Starts the backend the work runs on: tfjs loads here, not when the CLI starts. */
async function initBackend(name: BackendName | undefined): Promise<void> {
  await (await import('../core/gan/backend.js')).initBackend(name, () => {});
}

export const projectCommand: CommandDef = {
  name: 'project',
  synopsis:
    'project --checkpoint FILE --image FILE [--steps 500] [--w-plus] [--out DIR] [--name N] [--backend B] ' +
    '[--home DIR] [--json]',
  summary: 'Finds the w whose bird looks most like an image (a plate, a photo), and writes it with its latent.',
  details: [
    "  The image is made into a centre square of the generator's side, then w is optimised from w_avg",
    '  (Adam, decaying noise on w, regularised noise maps) on a feature-network distance plus a pixel term.',
    "  Writes <name>-projected.png and <name>-latent.json in --out (default the home's exports/) only once",
    '  it has finished; Ctrl-C stops it and writes nothing.',
    '  --json   {distance, psnr, steps, image, latent}; psnr is against the target square (dB)',
  ].join('\n'),
  options: {
    checkpoint: { type: 'string' },
    run: { type: 'string' },
    image: { type: 'string' },
    steps: { type: 'string' },
    'w-plus': { type: 'boolean', default: false },
    out: { type: 'string' },
    name: { type: 'string' },
    backend: { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  async run(v) {
    const generator = await generatorFlag(v);
    const image = resolve(required(v.image as string | undefined, 'image', 'FILE'));
    const steps = numberFlag(v, 'steps', F.steps);
    const name = choiceFlag(v, 'name', F.name);
    // Flags are checked above, in this process; the drawing happens in a child whose stderr is filtered.
    if (!insideFilteredChild()) return rerunFiltered('project');
    const studio = await openReadOnly(v.home as string | undefined);
    let jobId = 0;
    const stop = () => {
      if (jobId) studio.insight.cancelProjection(jobId);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await initBackend(backendFlag(v));
      const r = await studio.insight.projectImage(
        {
          generator,
          image,
          ...(steps !== undefined ? { steps } : {}),
          wPlus: v['w-plus'] === true,
          ...(v.out !== undefined ? { outDir: resolve(v.out as string) } : {}),
          ...(name !== undefined ? { name } : {}),
        },
        (e) => {
          jobId = e.jobId;
          if (!v.json && e.step > 0)
            process.stderr.write(
              `\rstep ${e.step}/${e.steps}  distance ${e.distance.toFixed(4)}  PSNR ${e.psnr.toFixed(2)} dB` +
                `${e.etaSeconds !== null ? `  ${e.etaSeconds} s left` : ''}   `,
            );
        },
      );
      if (v.json) console.log(JSON.stringify(r));
      else
        console.log(
          `\nwrote ${r.image} and ${r.latent} (distance ${r.distance.toFixed(4)}, PSNR ${r.psnr.toFixed(2)} dB)`,
        );
      return 0;
    } catch (err) {
      if ((err as Error).message === 'cancelled') {
        console.error('plumage project: stopped; nothing was written');
        return 130;
      }
      throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await studio.close();
    }
  },
};
