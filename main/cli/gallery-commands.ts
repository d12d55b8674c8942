/**
 * The gallery from a terminal: `generate` (from a run or any generator file), `favourite`
 * (add, list, remove, render) and `interpolate`. Drawing runs in the generator process, as in
 * the app: on a GPU, Dawn's native log lines go to that process's stderr, which the gallery
 * reads and keeps from the terminal (core/util/child-stderr.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendChoice, BirdEdit, Favourite, GeneratorRef } from '../../preload/contract.js';
import { CREATE_RUN_FIELDS } from '../core/api/validate.js';
import { GALLERY_FIELDS, MAX_SEEDS_PER_REQUEST } from '../core/api/validate-gallery.js';
import { checkExportFolder, makeExportFolder } from '../core/export/folder.js';
import { INSIGHT_FIELDS } from '../core/api/validate-insight.js';
import { fileProblem } from '../core/folders.js';
import { parseSeeds } from '../core/gan/sample.js';
import { resolveHome } from '../core/home.js';
import { Studio } from '../core/studio.js';
import { DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { endProgress, progress, quoted, say, sayJson, warn } from './terminal.js';
import { UsageError, checkFlag, choiceFlag, numberFlag, required } from './usage.js';

/** Every flag is checked by the field the app's gallery requests check the same value with. */
const F = GALLERY_FIELDS;
/** A strip is the app's preview; on the command line an interpolation is an animation or frames. */
const FILE_FORMAT = F.format.exclude(['strip'], {
  error: `must be one of ${F.format.options.filter((f) => f !== 'strip').join(', ')}`,
});

export { GALLERY_USAGE } from './gallery-usage.js';

const DEFAULT_PSI = 0.7;
const DEFAULT_FRAMES = 48;
const DEFAULT_FPS = 24;

export async function galleryCommand(
  command: 'generate' | 'favourite' | 'interpolate',
  argv: string[],
): Promise<number> {
  if (command === 'generate') return generate(argv);
  if (command === 'interpolate') return interpolate(argv);
  const [sub, ...rest] = argv;
  if (sub === 'add') return favouriteAdd(rest);
  if (sub === 'list') return favouriteList(rest);
  if (sub === 'remove') return favouriteRemove(rest);
  if (sub === 'render') return favouriteRender(rest);
  throw new UsageError(`favourite takes add, list, remove or render${sub ? ` (got ${JSON.stringify(sub)})` : ''}`);
}

const modelOptions = {
  run: { type: 'string' },
  checkpoint: { type: 'string' },
  kimg: { type: 'string' },
  home: { type: 'string' },
} as const;
const birdOptions = {
  psi: { type: 'string', default: String(DEFAULT_PSI) },
  noise: { type: 'string', default: 'const' },
  'mix-seed': { type: 'string' },
  layers: { type: 'string' },
} as const;

function openStudio(home: string | undefined, readOnly: boolean, backend?: string): Studio {
  return Studio.open({
    home: resolveHome(home),
    resourcesDir: DEFAULT_RESOURCES_DIR,
    shell: 'server',
    watch: false,
    readOnly,
    backend: backend === undefined ? undefined : backendOf(backend),
  });
}

function modelRef(v: { run?: string; checkpoint?: string; kimg?: string }): GeneratorRef {
  if (v.run === undefined) {
    if (v.kimg !== undefined) throw new UsageError('--kimg needs --run');
    if (v.checkpoint === undefined) throw new UsageError('give --run R or --checkpoint FILE');
    return { file: resolve(v.checkpoint) };
  }
  const runId = numberFlag(v, 'run', F.id)!;
  if (v.checkpoint !== undefined && v.kimg !== undefined) throw new UsageError('give --checkpoint or --kimg, not both');
  if (v.checkpoint !== undefined) return { runId, checkpointId: numberFlag(v, 'checkpoint', F.id)! };
  if (v.kimg !== undefined) return { runId, kimg: numberFlag(v, 'kimg', F.kimg)! };
  return { runId };
}

function bird(v: { psi?: string; noise?: string; 'mix-seed'?: string; layers?: string }) {
  const psi = numberFlag(v, 'psi', F.psi)!;
  const noiseMode = choiceFlag(v, 'noise', F.noiseMode)!;
  if ((v['mix-seed'] === undefined) !== (v.layers === undefined))
    throw new UsageError('a style mix needs both --mix-seed and --layers');
  return {
    psi,
    noiseMode,
    ...(v['mix-seed'] !== undefined
      ? { mixSeed: numberFlag(v, 'mix-seed', F.seed)!, mixLayers: choiceFlag(v, 'layers', F.mixLayers)! }
      : {}),
  };
}

/** `--seeds 0-7,12`: the syntax is parseSeeds', and every seed is checked by the request's seed field. */
function seedsFlag(spec: string): number[] {
  let seeds: number[];
  try {
    seeds = parseSeeds(spec);
  } catch (err) {
    throw new UsageError(`--seeds ${(err as Error).message.replace(/^seeds /, '')}`);
  }
  for (const seed of seeds) checkFlag('seeds', spec, seed, F.seed);
  return seeds;
}

async function generate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...modelOptions,
      ...birdOptions,
      seeds: { type: 'string', default: '0-7' },
      out: { type: 'string' },
      backend: { type: 'string' },
      direction: { type: 'string' },
      amount: { type: 'string' },
      method: { type: 'string', default: 'sefa' },
      'direction-layers': { type: 'string', default: 'all' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.backend !== undefined) backendOf(values.backend);
  const ref = modelRef(values);
  const params = bird(values);
  const seeds = seedsFlag(values.seeds!);
  const move = directionFlags(values);
  // Checked before anything starts (the core checks it again as it makes it).
  const outDir = await checkExportFolder(resolve(values.out ?? 'generated'), resolveHome(values.home));
  if ('file' in ref) {
    const problem = await fileProblem(ref.file, 'checkpoint');
    if (problem) throw new Error(problem);
  }
  // A loose file needs no home of the user's (but for its directions' cache): it draws through a
  // Studio on a home of its own, made here and removed after. A run is looked up read-only,
  // without the home's lock, so this works beside a running `train`.
  const scratch = 'file' in ref && !move ? await mkdtemp(join(tmpdir(), 'plumage-generate-')) : null;
  const studio = openStudio(scratch ?? values.home, true, values.backend);
  // Ctrl-C (the whole process group) stops the draw after the bird in flight: every file written is whole.
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const batched = seeds.length > MAX_SEEDS_PER_REQUEST;
    const r = await studio.generateFiles(
      { generator: ref, seeds, ...params, ...(move ? { edit: move } : {}), outDir },
      {
        signal: stop.signal,
        // A long list is drawn, and shown, a batch (what one request of the app may ask for) at a time.
        onProgress: (p) => batched && progress(`drew ${p.done} of ${p.total} birds`),
      },
    );
    if (batched) endProgress();
    const info = r.generator;
    const from = info.runId !== null ? `run #${info.runId} at ${info.kimg} kimg (${info.file})` : info.file;
    if (values.json)
      sayJson({
        files: r.files,
        outDir: r.outDir,
        cancelled: r.cancelled,
        generator: { file: info.file, runId: info.runId, kimg: info.kimg },
      });
    if (r.cancelled) {
      warn(`plumage generate: stopped; wrote ${r.files.length} of ${seeds.length} images to ${r.outDir}`);
      return 130;
    }
    if (!values.json)
      say(`wrote ${seeds.length} images (ψ ${params.psi}, noise ${params.noiseMode}) from ${from} to ${r.outDir}`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await studio.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** `--direction K --amount A [--method M] [--direction-layers L]`, checked by the insight fields. */
function directionFlags(v: Record<string, string | boolean | undefined>): BirdEdit | null {
  if (v.direction === undefined) {
    if (v.amount !== undefined) throw new UsageError('--amount goes with --direction K');
    return null;
  }
  const I = INSIGHT_FIELDS;
  return {
    direction: numberFlag(v, 'direction', I.direction)!,
    amount: required(numberFlag(v, 'amount', I.amount), 'amount', 'A'),
    method: choiceFlag(v, 'method', I.method)!,
    layers: choiceFlag(v, 'direction-layers', I.layers)!,
  };
}

async function favouriteAdd(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...modelOptions,
      ...birdOptions,
      seed: { type: 'string' },
      latent: { type: 'string' },
      name: { type: 'string' },
      note: { type: 'string' },
      json: { type: 'boolean', default: false },
      direction: { type: 'string' },
      amount: { type: 'string' },
      method: { type: 'string', default: 'sefa' },
      'direction-layers': { type: 'string', default: 'all' },
    },
  });
  if ((values.seed === undefined) === (values.latent === undefined))
    throw new UsageError('give --seed S or --latent FILE (a latent file as `plumage project` writes it)');
  const seed = values.seed !== undefined ? numberFlag(values, 'seed', F.seed)! : undefined;
  const move = directionFlags(values);
  const ref = modelRef(values);
  const studio = openStudio(values.home, false);
  try {
    const what = seed !== undefined ? { seed, ...bird(values) } : { latent: resolve(values.latent!), ...bird(values) };
    const fav = await studio.addFavourite({
      generator: ref,
      ...what,
      ...(move ? { edit: move } : {}),
      ...(values.name !== undefined ? { name: choiceFlag(values, 'name', F.name)! } : {}),
      ...(values.note !== undefined ? { note: choiceFlag(values, 'note', F.note)! } : {}),
    });
    if (values.json) sayJson(fav);
    else say(`★ #${fav.id} ${describe(fav)}`);
    return 0;
  } finally {
    await studio.close();
  }
}

async function favouriteList(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      home: { type: 'string' },
      filter: { type: 'string' },
      sort: { type: 'string', default: 'created' },
      desc: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const sort = choiceFlag(values, 'sort', F.sort)!;
  const studio = openStudio(values.home, true);
  try {
    const favs = await studio.listFavourites({
      sort,
      descending: values.desc,
      ...(values.filter !== undefined ? { text: values.filter } : {}),
    });
    if (values.json) sayJson(favs);
    else if (favs.length === 0) say('no favourites yet: plumage favourite add --run R --seed S');
    else for (const f of favs) say(`#${f.id} ${describe(f)}`);
    return 0;
  } finally {
    await studio.close();
  }
}

async function favouriteRemove(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { home: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('favourite remove takes one id');
  const id = favouriteId(positionals[0]!);
  const studio = openStudio(values.home, false);
  try {
    const fav = await studio.getFavourite({ id });
    await studio.removeFavourite({ id });
    say(`removed #${id} ${quoted(fav.name)}`);
    return 0;
  } finally {
    await studio.close();
  }
}

async function favouriteRender(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { home: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('favourite render takes one id');
  const id = favouriteId(positionals[0]!);
  const dir = await checkExportFolder(resolve(values.out ?? '.'), resolveHome(values.home));
  const studio = openStudio(values.home, true, values.backend);
  try {
    const r = await studio.renderFavourite({ id });
    // eslint-disable-next-line no-restricted-syntax -- waits for the file (DECISIONS)
    await studio.gallery.settle(r);
    const fav = await studio.getFavourite({ id });
    await makeExportFolder(dir);
    const file = join(dir, `favourite-${id}.png`);
    const { copyFile } = await import('node:fs/promises');
    await copyFile(join(studio.home, r.birds[0]!.media), file);
    say(`wrote ${file} (${describe(fav)})`);
    return 0;
  } finally {
    await studio.close();
  }
}

async function interpolate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      favourites: { type: 'string' },
      space: { type: 'string', default: 'w' },
      frames: { type: 'string', default: String(DEFAULT_FRAMES) },
      fps: { type: 'string', default: String(DEFAULT_FPS) },
      format: { type: 'string', default: 'webp' },
      out: { type: 'string' },
      name: { type: 'string' },
      home: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.favourites) throw new UsageError('--favourites ID,ID[,…] is required (two or more)');
  const ids = values.favourites
    .split(',')
    .map((s) => checkFlag('favourites', values.favourites!, /^\s*\d+\s*$/.test(s) ? Number(s) : NaN, F.id));
  if (ids.length < 2) throw new UsageError('--favourites needs at least two ids');
  const space = choiceFlag(values, 'space', F.space)!;
  const format = choiceFlag(values, 'format', FILE_FORMAT)!;
  const frames = numberFlag(values, 'frames', F.frames)!;
  const fps = numberFlag(values, 'fps', F.fps)!;
  const studio = openStudio(values.home, true, values.backend);
  try {
    const r = await studio.interpolate({
      favouriteIds: ids,
      space,
      frames,
      fps,
      format,
      outDir: resolve(values.out ?? '.'),
      ...(values.name !== undefined ? { name: values.name } : {}),
    });
    if (values.json) sayJson({ files: r.files });
    else
      say(
        r.files.length === 1
          ? `wrote ${r.files[0]}`
          : `wrote ${r.files.length} frames to ${resolve(values.out ?? '.')}`,
      );
    return 0;
  } finally {
    await studio.close();
  }
}

function describe(f: Favourite): string {
  const from = f.runId !== null ? `run #${f.runId}${f.kimg !== null ? ` @ ${f.kimg} kimg` : ''}` : f.generatorPath;
  const mix = f.mixSeed !== null ? ` × seed ${f.mixSeed} (${f.mixLayers})` : '';
  const gone = f.fileMissing ? '  [generator file missing]' : '';
  // A name or note kept before they were checked (or edited in the database) may hold anything.
  const note = f.note ? ` — ${quoted(f.note)}` : '';
  const edit = f.edit
    ? `, moved ${f.edit.amount} along ${f.edit.method} direction ${f.edit.direction} (${f.edit.layers})`
    : '';
  const bird = f.latent !== null ? `projected (${quoted(f.latent)})` : `seed ${f.seed}`;
  return `${quoted(f.name)} — ${bird}${mix}${edit}, ψ ${f.psi}, noise ${f.noiseMode}, ${quoted(from)}${note}${gone}`;
}

/** `--backend B`: checked by the same field as a run's backend in the app. */
function backendOf(v: string): BackendChoice {
  const r = CREATE_RUN_FIELDS.backend.safeParse(v);
  if (!r.success || r.data === undefined) throw new UsageError(`--backend ${r.error?.issues[0]?.message} (got ${v})`);
  return r.data;
}

/** A favourite's id, given as the sub-command's argument. */
function favouriteId(raw: string): number {
  const r = F.id.safeParse(/^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN);
  if (!r.success) throw new UsageError(`the favourite id ${r.error.issues[0]?.message} (got ${raw})`);
  return r.data;
}
