/**
 * Where a batch of prints goes, checked whole before the first print is made: paper, DPI,
 * caption characters, file names, files that exist (the folder itself is the service's to check
 * and make: export/folder.ts). It loads neither tfjs nor pdf-lib, so the
 * studio's process plans and the export process prints.
 */
import { resolve } from 'node:path';
import type { PrintOptions } from '../../common/records.js';
import { captionText, checkCaptionText, type CaptionText } from './caption.js';
import { ExportInputError, outputPath, printFileName, refuseOverwrite } from './files.js';
import { layoutPrint, type PrintLayout } from './paper.js';
import type { PrintFacts } from './types.js';

export interface PrintPlan<S extends PrintFacts = PrintFacts> {
  layout: PrintLayout;
  folder: string;
  prints: { source: S; caption: CaptionText | null; path: string }[];
}

/** Checks a batch and says where each print goes; throws on the first thing that cannot work. */
export async function planPrints<S extends PrintFacts>(
  sources: S[],
  options: PrintOptions,
  folder: string,
  overwrite: boolean,
): Promise<PrintPlan<S>> {
  if (sources.length === 0) throw new ExportInputError('choose at least one favourite to print');
  const layout = layoutPrint(options);
  const root = resolve(folder);
  const prints = sources.map((source) => {
    const caption = options.caption ? captionText(source) : null;
    if (caption) checkCaptionText(`${caption.plate} ${caption.name} ${caption.details}`);
    return { source, caption, path: outputPath(root, printFileName(source.plate, source.name, options.format)) };
  });
  const seen = new Set<string>();
  for (const p of prints) {
    if (seen.has(p.path)) throw new ExportInputError(`two prints would both be written to ${p.path}`);
    seen.add(p.path);
  }
  await refuseOverwrite(
    prints.map((p) => p.path),
    overwrite,
  );
  return { layout, folder: root, prints };
}
