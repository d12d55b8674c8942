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
import type { BackendName } from '../core/runtime/backend.js';
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
export async function generatorFlag(v: FlagValues): Promise<GeneratorRef> {
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
    'metrics (--run N [--checkpoint C] | --checkpoint FILE) [--dataset DIR] [--images 1000] [--fresh] ' +
    '[--backend B] [--home DIR] [--json]',
  summary: 'Plumage KID (InceptionV3 mixed5) and the memorisation rate of a checkpoint against a dataset.',
  details: [
    "  --dataset DIR  an ingested folder (default: the run's own dataset)",
    `  --images N     generated birds, seeds 0…N−1 at ψ 1 (default ${DEFAULT_METRIC_IMAGES})`,
    '  --json         {kid, kidStd, images, memorisation, reals, subsetSize, label, stored}',
    "  --fresh        compute it even where the run's checkpoint already has a stored score",
    "  A run's checkpoint scored beside the trainer (the app, serve) is read from the home when its",
    '  dataset and --images match: "stored" says which (and when it was computed).',
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
    fresh: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  async run(v) {
    const generator = await generatorFlag(v);
    // Asked once, by the process the user started: the filtered child it reruns as would say
    // "no stored score yet; computing it now" a second time.
    if ('runId' in generator && v.dataset === undefined && v.fresh !== true && !insideFilteredChild()) {
      const said = await storedScore(v, generator);
      if (said) return 0;
    }
    const images = numberFlag(v, 'images', F.images) ?? DEFAULT_METRIC_IMAGES;
    if ('file' in generator && v.dataset === undefined) throw new UsageError('a --checkpoint FILE needs --dataset DIR');
    // Flags are checked above, in this process; the drawing happens in a child whose stderr is filtered.
    if (!insideFilteredChild()) return rerunFiltered('metrics');
    const studio = await openReadOnly(v.home as string | undefined);
    try {
      await initBackend(backendFlag(v));
      const info = await studio.openGenerator(generator);
      const datasetId =
        // eslint-disable-next-line no-restricted-syntax -- the CLI names a dataset by folder (DECISIONS)
        v.dataset !== undefined ? studio.insight.datasetForFolder(v.dataset as string, info.resolution).id : undefined;
      const r = await studio.computeMetrics(
        { generator, images, ...(datasetId !== undefined ? { datasetId } : {}) },
        progressLine(v.json === true),
      );
      if (v.json) {
        const { generator: g, ...rest } = r;
        console.log(JSON.stringify({ ...rest, generator: g.file, stored: false }));
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

/**
 * Prints a run checkpoint's stored score when there is one of this many birds (true), else says
 * on stderr that it is computed now (false). Read before any child or backend starts: instant.
 */
async function storedScore(v: FlagValues, generator: Extract<GeneratorRef, { runId: number }>): Promise<boolean> {
  const studio = await openReadOnly(v.home as string | undefined);
  try {
    // Through the facade's requests, as the page reads them: the run, its checkpoints, its scores.
    const run = await studio.getRun({ runId: generator.runId }).catch(() => null);
    if (!run) return false; // the computation says "no run with id N"
    const newest = run.checkpoints.reduce<(typeof run.checkpoints)[number] | undefined>(
      (a, c) => (a === undefined || c.step > a.step ? c : a),
      undefined,
    );
    const checkpoint =
      generator.checkpointId !== undefined ? run.checkpoints.find((c) => c.id === generator.checkpointId) : newest;
    if (!checkpoint) return false;
    const images = numberFlag(v, 'images', F.images) ?? run.kidImages;
    const own = (await studio.listCheckpointScores({ runId: run.id })).find((r) => r.runId === run.id);
    const s = own?.scores.find((x) => x.checkpointId === checkpoint.id);
    const why =
      !s || s.kid === null
        ? s?.error
          ? `its score failed (${s.error})`
          : run.kidImages === 0
            ? 'the run does not score its checkpoints'
            : 'it has no stored score yet'
        : s.images !== images
          ? `its stored score is of ${s.images} birds, not ${images}`
          : null;
    const at = `run ${run.id}'s checkpoint #${checkpoint.id} (${checkpoint.kimg.toFixed(3)} kimg)`;
    if (why !== null) {
      if (v.json !== true) console.error(`${at}: ${why}; computing it now`);
      return false;
    }
    if (v.json) {
      console.log(JSON.stringify({ ...s, stored: true, generator: checkpoint.path }));
    } else {
      console.log(`${s!.label}: ${s!.kid!.toFixed(5)} ± ${(s!.kidStd ?? 0).toFixed(5)}`);
      console.log(`  stored: computed beside the trainer at ${new Date(s!.computedAt).toISOString()} for ${at}`);
      console.log(`  memorisation: ${((s!.memorisation ?? 0) * 100).toFixed(1)} % of birds copy a training image`);
      console.log('  (--fresh computes it again)');
    }
    return true;
  } finally {
    await studio.close();
  }
}

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
      const side = generator ? (await studio.openGenerator(generator)).resolution : null;
      // eslint-disable-next-line no-restricted-syntax -- the CLI names a dataset by folder (DECISIONS)
      const datasetId = studio.insight.datasetForFolder(dataset, side).id;
      const r = await studio.findNearest(
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
      const r = await studio.computeDirections({ generator, method, layers });
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

export function backendFlag(v: FlagValues) {
  if (v.backend === undefined) return undefined;
  return choiceFlag(v, 'backend', BACKEND_FIELD);
}

/** Starts the backend the work runs on: tfjs loads here, not when the CLI starts. */
async function initBackend(name: BackendName | undefined): Promise<void> {
  await (await import('../core/runtime/backend.js')).initBackend(name, () => {});
}
