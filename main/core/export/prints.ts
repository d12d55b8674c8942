/**
 * A batch of prints: every picture upscaled to the paper's printable square at the DPI and
 * written as its own PDF, PNG or TIFF, named from its plate number and name. Everything that can
 * be refused is refused before the first print is made (paper, DPI, caption characters, the
 * folder, files that exist); after that, one print failing is recorded and the rest carry on.
 */
import type { PrintOptions } from '../../../preload/contract.js';
import { captionText, checkCaptionText, type CaptionText } from './caption.js';
import { checkFolder, ExportInputError, outputPath, printFileName, refuseOverwrite, writeExport } from './files.js';
import type { ExportJob } from './job.js';
import { layoutPrint, type PrintLayout } from './paper.js';
import { addPrintPage, newPrintDocument, renderPageRaster } from './render.js';
import type { PrintSource } from './types.js';
import { upscaleTo } from './upscale.js';

export interface PrintPlan {
  layout: PrintLayout;
  folder: string;
  prints: { source: PrintSource; caption: CaptionText | null; path: string }[];
}

/** Checks a batch and says where each print goes; throws on the first thing that cannot work. */
export async function planPrints(
  sources: PrintSource[],
  options: PrintOptions,
  folder: string,
  overwrite: boolean,
): Promise<PrintPlan> {
  if (sources.length === 0) throw new ExportInputError('choose at least one favourite to print');
  const layout = layoutPrint(options);
  const root = await checkFolder(folder);
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

/** Makes every print of the plan; returns when all are written, failed, or the job is cancelled. */
export async function runPrints(
  plan: PrintPlan,
  options: PrintOptions,
  overwrite: boolean,
  job: ExportJob,
): Promise<void> {
  const { layout } = plan;
  for (const { source, caption, path } of plan.prints) {
    const label = `Plate ${source.plate} ${source.name}`;
    try {
      job.step(label, 'generating');
      const { rgb, size } = await source.picture();
      job.step(label, 'upscaling');
      const picture = await upscaleTo(
        rgb,
        size,
        layout.picturePx.width,
        options.upscaler,
        (f) => job.step(label, 'upscaling', f),
        job.signal,
      );
      job.step(label, 'composing');
      let bytes: Uint8Array;
      if (options.format === 'pdf') {
        const res = await newPrintDocument(caption ? `${caption.plate} ${caption.name}` : label);
        addPrintPage(res, layout, picture, caption);
        bytes = await res.doc.save();
      } else {
        bytes = await renderPageRaster(layout, picture, caption, options.format);
      }
      job.step(label, 'writing');
      await writeExport(path, bytes, overwrite);
      job.wrote(path);
      job.itemDone();
    } catch (err) {
      if (job.signal.aborted) throw err;
      job.itemFailed(label, err);
    }
  }
}
