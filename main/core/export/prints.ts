/**
 * A batch of prints: every picture upscaled to the paper's printable square at the DPI and
 * written as its own PDF, PNG or TIFF, named from its plate number and name. Everything that can
 * be refused was refused by planPrints (print-plan.ts) before the first print is made; here one
 * print failing is recorded and the rest carry on.
 */
import type { PrintOptions } from '../../common/records.js';
import { writeExport } from './files.js';
import type { ExportJob } from './job.js';
import type { PrintPlan } from './print-plan.js';
import { addPrintPage, newPrintDocument, renderPageRaster } from './render.js';
import type { PrintSource } from './types.js';
import { upscaleTo } from './upscale.js';
import { upscalerFor } from './upscale-choice.js';

/** Makes every print of the plan; returns when all are written, failed, or the job is cancelled. */
export async function runPrints(
  plan: PrintPlan<PrintSource>,
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
        upscalerFor(options.upscaler, size, options),
        (f) => job.step(label, 'upscaling', f),
        job.signal,
      );
      job.step(label, 'composing');
      let bytes: Uint8Array;
      if (options.format === 'pdf') {
        const res = await newPrintDocument(caption ? `${caption.plate} ${caption.name}` : label, {
          regular: caption ? `${caption.plate}${caption.details}` : '',
          italic: caption?.name ?? '',
        });
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
