/**
 * The gallery's and the exports' commands as CommandDefs. They read their own arguments (each
 * `favourite` sub-command has its own flags), so these only name them, give `--help` its text and
 * load the implementation (and with it tfjs, sharp, pdf-lib) when the command really runs.
 */
import { EXPORT_USAGE } from './export-usage.js';
import { GALLERY_USAGE } from './gallery-usage.js';
import type { CommandDef } from './usage.js';

/**
 * One command's usage out of a block of them, laid out under `Usage: plumage `: its lines start
 * `plumage NAME`, and the indented lines after each continue it.
 */
function usageOf(block: string, name: string): string {
  let out = '';
  let mine = false;
  for (const line of block.split('\n')) {
    const m = /^\s*plumage (\S+)/.exec(line);
    if (m) mine = m[1] === name;
    if (!mine || !line.trim()) continue;
    if (m)
      out += out ? `\n       plumage ${line.trim().slice('plumage '.length)}` : line.trim().slice('plumage '.length);
    else out += `\n           ${line.trim()}`;
  }
  return out || name;
}

function def(name: string, block: string, summary: string, load: (argv: string[]) => Promise<number>): CommandDef {
  return {
    name,
    synopsis: usageOf(block, name),
    summary,
    options: {},
    ownsArgv: true,
    run: (_values, _positionals, argv) => load(argv),
  };
}

const gallery = (command: 'generate' | 'favourite' | 'interpolate') => async (argv: string[]) =>
  (await import('./gallery-commands.js')).galleryCommand(command, argv);
const exports = (command: 'export' | 'export-dataset' | 'export-timelapse') => async (argv: string[]) =>
  (await import('./export-commands.js')).exportCommand(command, argv);

export const generateCommand = def(
  'generate',
  GALLERY_USAGE,
  'Draws birds from a run or any generator file, one PNG per seed.',
  gallery('generate'),
);
export const favouriteCommand = def(
  'favourite',
  GALLERY_USAGE,
  'Keeps, lists, removes and redraws favourite birds.',
  gallery('favourite'),
);
export const interpolateCommand = def(
  'interpolate',
  GALLERY_USAGE,
  'Morphs between favourites (W or Z) into an animated WebP/GIF or numbered PNGs.',
  gallery('interpolate'),
);
export const exportCommand = def(
  'export',
  EXPORT_USAGE,
  'Print-ready files of favourites (PDF, PNG or TIFF at a DPI), or a contact sheet.',
  exports('export'),
);
export const exportDatasetCommand = def(
  'export-dataset',
  EXPORT_USAGE,
  "A dataset in the reference's format (zip of PNGs + dataset.json), to train on a bigger machine.",
  exports('export-dataset'),
);
export const exportTimelapseCommand = def(
  'export-timelapse',
  EXPORT_USAGE,
  "A run's snapshot grids as an animated WebP/GIF or numbered PNGs.",
  exports('export-timelapse'),
);
