#!/usr/bin/env node
/**
 * `plumage` — the command-line shell over the same Studio facade as the app.
 * Commands: ingest, serve, init, backend, train, runs; the gallery's generate, favourite, interpolate;
 * export, export-dataset, export-timelapse.
 */
import { parseArgs } from 'node:util';
import { CROP_MODES, RESOLUTIONS, type CropMode, type Resolution } from '../../preload/contract.js';
import { resolveHome } from '../core/home.js';
import { Studio } from '../core/studio.js';
import { DEFAULT_RESOURCES_DIR, PACKAGE_VERSION } from '../core/version.js';
import { GALLERY_USAGE } from './gallery-usage.js';
import { EXPORT_USAGE } from './export-usage.js';
import { UsageError } from './usage.js';

const USAGE = `plumage ${PACKAGE_VERSION} — train StyleGAN2 on your own folder of images

Usage:
  plumage ingest <folder> --resolution N [--crop centre|subject|pad] [--home DIR] [--json]
  plumage serve [--port N] [--home DIR]
  plumage init --preset tiny|64|128|256|512|1024 [--seed S] --out FILE.safetensors
  plumage backend                       which tfjs backend would train here, and why
  plumage train --dataset <folder> [--preset tiny|64|…] [--kimg K] [--home DIR] [--json]
  plumage runs [--home DIR] [--json]${GALLERY_USAGE}${EXPORT_USAGE}
  plumage --help | --version

Data lives in --home DIR, else $PLUMAGE_HOME, else your per-user app-data folder.`;

function parseResolution(value: string | undefined): Resolution {
  const n = Number(value);
  if (!RESOLUTIONS.includes(n as Resolution)) {
    throw new UsageError(
      `--resolution must be one of ${RESOLUTIONS.join(', ')}${value === undefined ? '' : ` (got ${value})`}`,
    );
  }
  return n as Resolution;
}

function parseCrop(value: string | undefined): CropMode {
  const crop = value ?? 'centre';
  if (!CROP_MODES.includes(crop as CropMode))
    throw new UsageError(`--crop must be one of ${CROP_MODES.join(', ')} (got ${crop})`);
  return crop as CropMode;
}

async function ingest(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      resolution: { type: 'string' },
      crop: { type: 'string' },
      home: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('ingest takes exactly one folder');
  const resolution = parseResolution(values.resolution);
  const crop = parseCrop(values.crop);
  const studio = Studio.open({
    home: resolveHome(values.home),
    resourcesDir: DEFAULT_RESOURCES_DIR,
    shell: 'server',
    watch: false,
  });
  try {
    if (!values.json) {
      studio.on('ingestProgress', (p) => {
        if (p.total > 0 && process.stderr.isTTY) {
          process.stderr.write(`\r${p.done}/${p.total} files, ${p.rate.toFixed(1)}/s, ETA ${p.etaSeconds ?? '?'} s   `);
        }
      });
    }
    const report = await studio.ingestOnce(positionals[0]!, resolution, crop);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.log(
        `${report.dataset} at ${resolution}² (${crop}): ${report.accepted.length} accepted, ` +
          `${report.rejected.length} rejected, ${report.duplicates.length} duplicates in ${report.seconds} s`,
      );
      for (const r of report.rejected) console.log(`  rejected  ${r.file}: ${r.reason}`);
      for (const d of report.duplicates) console.log(`  duplicate ${d.file} (same as ${d.of})`);
    }
    return 0;
  } finally {
    await studio.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'ingest':
      return ingest(rest);
    case 'generate':
    case 'favourite':
    case 'interpolate':
      return (await import('./gallery-commands.js')).galleryCommand(command, rest);
    case 'export':
    case 'export-dataset':
    case 'export-timelapse':
      return (await import('./export-commands.js')).exportCommand(command, rest);
    case 'init':
    case 'backend': {
      const { ganCommand } = await import('./gan-commands.js');
      return ganCommand(command, rest);
    }
    case 'train':
    case 'runs': {
      const { trainCommand } = await import('./train-commands.js');
      return trainCommand(command, rest);
    }
    case 'serve': {
      const { serveMain } = await import('../server/index.js');
      return serveMain(rest);
    }
    case '--version':
    case '-v':
      console.log(PACKAGE_VERSION);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: Error) => {
    const usage = err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`plumage: ${err.message}${usage ? '\n\n' + USAGE : ''}`);
    process.exitCode = usage ? 2 : 1;
  },
);
