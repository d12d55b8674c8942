/**
 * CLI commands over the exports: export (prints or a contact sheet of favourites), export-dataset,
 * export-timelapse. Same ExportService as the app; progress on stderr, Ctrl-C cancels (files
 * already finished stay). Exit 0 when everything was written, 1 when anything failed or files
 * were in the way without --overwrite, 2 for a usage error.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  PRINT_PPI,
  type BackendChoice,
  type CropMode,
  type ExportProgress,
  type ExportStart,
  type FavouriteSelection,
  type PrintAdvice,
  type PrintOptions,
} from '../../preload/contract.js';
import { CREATE_RUN_FIELDS, OPEN_DATASET_FIELDS } from '../core/api/validate.js';
import { EXPORT_FIELDS } from '../core/api/validate-export.js';
import { GALLERY_FIELDS } from '../core/api/validate-gallery.js';
import { homeExportsFolder } from '../core/export/folder.js';
import { datasetFolder } from '../core/folders.js';
import { describeMissing } from '../core/export/service.js';
import { resolveHome } from '../core/home.js';
import { Studio } from '../core/studio.js';
import { DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { endProgress, progress, quoted, say, sayJson, warn } from './terminal.js';
import { UsageError, checkFlag, choiceFlag, numberFlag, required } from './usage.js';

const F = EXPORT_FIELDS;
/** On the command line a custom paper is its size ("100x150"), so the paper names exclude `custom`. */
const NAMED_PAPER = F.paper.exclude(['custom'], {
  error: `must be one of ${F.paper.options.filter((n) => n !== 'custom').join(', ')} or WxH in mm`,
});

export type ExportCommand = 'export' | 'export-dataset' | 'export-timelapse';

const common = {
  out: { type: 'string' },
  overwrite: { type: 'boolean', default: false },
  home: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export async function exportCommand(command: ExportCommand, argv: string[]): Promise<number> {
  switch (command) {
    case 'export': {
      const { values } = parseArgs({
        args: argv,
        options: {
          ...common,
          favourites: { type: 'string' },
          paper: { type: 'string', default: 'A4' },
          orientation: { type: 'string', default: 'portrait' },
          dpi: { type: 'string', default: '300' },
          margin: { type: 'string', default: '15' },
          bleed: { type: 'boolean', default: false },
          tone: { type: 'string', default: 'cream' },
          'no-caption': { type: 'boolean', default: false },
          format: { type: 'string', default: 'pdf' },
          upscaler: { type: 'string', default: 'auto' },
          'contact-sheet': { type: 'boolean', default: false },
          backend: { type: 'string' },
        },
      });
      const backend = choiceFlag(values, 'backend', CREATE_RUN_FIELDS.backend);
      // Every value is checked by the field the app's exportPrints request checks it with.
      const favourites = parseFavourites(values.favourites);
      const options: PrintOptions = {
        ...parsePaper(values.paper!),
        orientation: choiceFlag(values, 'orientation', F.orientation)!,
        dpi: numberFlag(values, 'dpi', F.dpi)!,
        marginMm: numberFlag(values, 'margin', F.marginMm)!,
        bleed: values.bleed!,
        tone: choiceFlag(values, 'tone', F.tone)!,
        caption: !values['no-caption'],
        format: choiceFlag(values, 'format', F.format)!,
        upscaler: choiceFlag(values, 'upscaler', F.upscaler)!,
      };
      return withStudio({ ...values, backend }, async (studio, folder) => {
        if (values['contact-sheet'])
          return studio.exportContactSheet({ favourites, options, folder, overwrite: values.overwrite! });
        for (const line of softPrints(await studio.printAdvice({ favourites, options }), options)) console.error(line);
        return studio.exportPrints({ favourites, options, folder, overwrite: values.overwrite! });
      });
    }
    case 'export-dataset': {
      const { values } = parseArgs({
        args: argv,
        options: {
          ...common,
          dataset: { type: 'string' },
          resolution: { type: 'string' },
          crop: { type: 'string' },
          name: { type: 'string' },
        },
      });
      if (!values.dataset) throw new UsageError('--dataset ID or --dataset FOLDER is required');
      const resolution = numberFlag(values, 'resolution', OPEN_DATASET_FIELDS.resolution);
      const crop = choiceFlag(values, 'crop', OPEN_DATASET_FIELDS.crop);
      return withStudio(values, async (studio, folder) => {
        const datasetId = await findDataset(studio, values.dataset!, resolution, crop);
        return studio.exportDataset({
          datasetId,
          folder,
          ...(values.name ? { fileName: values.name } : {}),
          overwrite: values.overwrite!,
        });
      });
    }
    case 'export-timelapse': {
      const { values } = parseArgs({
        args: argv,
        options: {
          ...common,
          run: { type: 'string' },
          format: { type: 'string', default: 'webp' },
          fps: { type: 'string', default: '12' },
        },
      });
      const runId = required(numberFlag(values, 'run', GALLERY_FIELDS.id), 'run', 'R');
      const format = choiceFlag(values, 'format', F.timelapseFormat)!;
      const fps = numberFlag(values, 'fps', F.fps)!;
      return withStudio(values, (studio, folder) =>
        studio.exportTimelapse({ runId, folder, format, fps, overwrite: values.overwrite! }),
      );
    }
  }
}

/** Opens the home, starts the export, shows its progress, and waits for it to end. */
async function withStudio(
  values: {
    home?: string | undefined;
    out?: string | undefined;
    json?: boolean | undefined;
    backend?: BackendChoice | undefined;
  },
  start: (studio: Studio, folder: string) => Promise<ExportStart>,
): Promise<number> {
  const home = resolveHome(values.home);
  const studio = Studio.open({
    home,
    resourcesDir: DEFAULT_RESOURCES_DIR,
    shell: 'server',
    watch: false,
    backend: values.backend,
  });
  // A relative --out is the user's current folder's; the service checks and makes it (export/folder.ts).
  const folder = values.out !== undefined ? resolve(values.out) : homeExportsFolder(home);
  const tty = process.stderr.isTTY && !values.json;
  studio.on('exportProgress', (p) => {
    if (tty) progress(describe(p));
  });
  let jobId: number | null = null;
  const onSigint = (): void => {
    if (jobId !== null) void studio.cancelExport({ jobId }).catch(() => {});
  };
  process.on('SIGINT', onSigint);
  try {
    const started = await start(studio, folder);
    if (started.missing) {
      if (values.json) sayJson({ missing: started.missing });
      else warn(`plumage: nothing written: ${describeMissing(started.missing)}`);
      return 1;
    }
    if (started.existing) {
      const message = `nothing written: ${started.existing.length} file(s) would be replaced (use --overwrite):`;
      if (values.json) sayJson({ existing: started.existing });
      else warn(`plumage: ${message}\n${started.existing.map((f) => `  ${quoted(f)}`).join('\n')}`);
      return 1;
    }
    jobId = started.job.jobId;
    // eslint-disable-next-line no-restricted-syntax -- waits for the end (DECISIONS)
    const end = await studio.exports.whenDone(jobId);
    if (tty) endProgress();
    if (values.json) sayJson(end);
    else {
      for (const f of end.written) say(`wrote ${quoted(f)}`);
      for (const f of end.failed) warn(`failed ${quoted(f.name)}: ${quoted(f.error)}`);
      if (end.state !== 'done') warn(`plumage: export ${end.state}${end.error ? `: ${quoted(end.error)}` : ''}`);
    }
    return end.state === 'done' && end.failed.length === 0 ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    await studio.close();
  }
}

/** A warning for each resolution of bird that will print soft at these options, with a paper that would not. */
function softPrints(advice: PrintAdvice[], options: PrintOptions): string[] {
  const paper =
    options.paper === 'custom' ? `${options.customMm!.width} × ${options.customMm!.height} mm` : options.paper;
  return advice
    .filter((a) => a.soft)
    .map((a) => {
      const one = a.favouriteIds.length === 1;
      const which = `${one ? 'plate' : 'plates'} ${a.favouriteIds.join(', ')} (${a.resolution}²)`;
      const smaller = a.smallerPaper;
      const flag = smaller?.customMm ? `${smaller.customMm.width}x${smaller.customMm.height}` : smaller?.paper;
      const instead = smaller
        ? ` On ${smaller.customMm ? `${flag} mm` : flag} paper (--paper ${flag}) ${one ? 'it' : 'they'} would have ${smaller.ppiAfterX4}.`
        : ' Smaller margins or paper would help.';
      return (
        `plumage: warning: ${which}: ${a.ppiAfterX4} px per inch on ${paper} even after ESRGAN's ×4, under ` +
        `${PRINT_PPI.soft}: ${one ? 'it' : 'they'} will print visibly soft (using ${a.upscaler}).${instead}`
      );
    });
}

function describe(p: ExportProgress): string {
  const c = p.current;
  const step = c
    ? `${c.name}: ${c.step}${c.fraction > 0 && c.fraction < 1 ? ` ${Math.round(c.fraction * 100)} %` : ''}`
    : '';
  return `[${p.done}/${p.total}] ${step}`;
}

function parseFavourites(spec: string | undefined): FavouriteSelection {
  if (!spec) throw new UsageError('--favourites all or --favourites ID,ID,… is required');
  if (spec === 'all') return 'all';
  const ids = spec.split(',').map((s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : NaN));
  if (ids.some((n) => !Number.isFinite(n)))
    throw new UsageError(`--favourites must be all or ids like 1,4,7 (got ${JSON.stringify(spec)})`);
  return checkFlag('favourites', spec, ids, F.favourites.options[1]);
}

/** A paper name (any case), or a custom size "WxH" in mm ("100x150"). */
function parsePaper(spec: string): Pick<PrintOptions, 'paper' | 'customMm'> {
  const custom = /^(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(?:mm)?$/i.exec(spec);
  if (custom) {
    const size = { width: Number(custom[1]), height: Number(custom[2]) };
    return { paper: 'custom', customMm: checkFlag('paper', spec, size, F.customMm) };
  }
  const name = F.paper.options.find((n) => n.toLowerCase() === spec.toLowerCase()) ?? spec;
  return { paper: checkFlag('paper', spec, name, NAMED_PAPER) };
}

/**
 * A dataset by id, or by its folder (with --resolution and --crop when it was ingested several
 * ways: a folder ingested with two crops at one size is two datasets, and the message names both).
 */
async function findDataset(
  studio: Studio,
  spec: string,
  resolution: number | undefined,
  crop: CropMode | undefined,
): Promise<number> {
  if (/^\d+$/.test(spec)) return Number(spec);
  const folder = await datasetFolder(spec); // as the studio keeps it
  const rows = (await studio.listDatasets()).filter(
    (r) =>
      r.folder === folder &&
      (resolution === undefined || r.resolution === resolution) &&
      (crop === undefined || r.crop === crop),
  );
  const asked = `${resolution ? ` at ${resolution}²` : ''}${crop ? ` with crop ${crop}` : ''}`;
  if (rows.length === 0) throw new UsageError(`no dataset for ${folder}${asked}: ingest it first`);
  if (rows.length > 1) {
    const flags = new Set(rows.map((r) => r.resolution)).size > 1 ? '--resolution and --crop' : '--crop';
    throw new UsageError(
      `${folder} was ingested as ${rows.map((r) => `${r.resolution}² crop ${r.crop}`).join(', ')}: ` +
        `say which with ${flags}`,
    );
  }
  return rows[0]!.id;
}
