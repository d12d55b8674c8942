/**
 * A contact sheet of favourites as one PDF: a grid of pictures at their own resolution (no
 * upscaling), each with its plate number, name and seed, as many pages as it takes.
 */
import type { PrintOptions } from '../../common/records.js';
import { birdOrigin, checkCaptionText } from './caption.js';
import { ExportInputError, refuseOverwrite, writeExport } from './files.js';
import type { ExportJob } from './job.js';
import { PAPER_TONE_HEX, mmToPt, trimSize } from './paper.js';
import { drawCentredRuns, drawPicture, newPrintDocument } from './render.js';
import type { PrintSource } from './types.js';
import { rgb as pdfRgb } from 'pdf-lib';

const MARGIN_MM = 12;
const GAP_MM = 5;
const CAPTION_PT = 7;
const TITLE_PT = 12;

export interface ContactSheetLayout {
  columns: number;
  rows: number;
  cellMm: number;
  perPage: number;
}

/** Columns by paper width (4 on A4 portrait), rows as many as fit with their captions. */
export function contactSheetLayout(page: { width: number; height: number }): ContactSheetLayout {
  const columns = Math.max(2, Math.round(page.width / 52));
  const cellMm = (page.width - 2 * MARGIN_MM - (columns - 1) * GAP_MM) / columns;
  const captionMm = ((CAPTION_PT * 1.4 * 2) / 72) * 25.4;
  const titleMm = ((TITLE_PT * 2) / 72) * 25.4;
  const rows = Math.max(
    1,
    Math.floor((page.height - 2 * MARGIN_MM - titleMm + GAP_MM) / (cellMm + captionMm + GAP_MM)),
  );
  return { columns, rows, cellMm, perPage: columns * rows };
}

export type ContactSheetOptions = Pick<PrintOptions, 'paper' | 'customMm' | 'orientation' | 'tone'> & { title: string };

export async function exportContactSheet(
  sources: PrintSource[],
  opts: ContactSheetOptions,
  path: string,
  overwrite: boolean,
  job: ExportJob,
): Promise<void> {
  if (sources.length === 0) throw new ExportInputError('choose at least one favourite for the contact sheet');
  const trim = trimSize(opts);
  for (const s of sources) checkCaptionText(`${s.name} ${opts.title}`);
  await refuseOverwrite([path], overwrite);
  const grid = contactSheetLayout(trim);
  const res = await newPrintDocument(opts.title, {
    regular: sources.map((s) => `${s.plate}. ${birdOrigin(s.seed)}`).join(''),
    italic: sources.map((s) => s.name).join(''),
  });
  const captionMm = ((CAPTION_PT * 1.4 * 2) / 72) * 25.4;
  const titleMm = ((TITLE_PT * 2) / 72) * 25.4;
  const tone = PAPER_TONE_HEX[opts.tone];
  const toneRgb = parseInt(tone.slice(1), 16);
  let page = null as ReturnType<typeof res.doc.addPage> | null;
  for (const [i, source] of sources.entries()) {
    const label = `Plate ${source.plate} ${source.name}`;
    if (i % grid.perPage === 0) {
      page = res.doc.addPage([mmToPt(trim.width), mmToPt(trim.height)]);
      page.drawRectangle({
        x: 0,
        y: 0,
        width: page.getWidth(),
        height: page.getHeight(),
        color: pdfRgb(((toneRgb >> 16) & 255) / 255, ((toneRgb >> 8) & 255) / 255, (toneRgb & 255) / 255),
      });
      const pageNo = Math.floor(i / grid.perPage) + 1;
      const pages = Math.ceil(sources.length / grid.perPage);
      drawCentredRuns(
        page,
        [{ text: pages > 1 ? `${opts.title} — ${pageNo} / ${pages}` : opts.title, font: res.italic }],
        TITLE_PT,
        page.getWidth() / 2,
        page.getHeight() - mmToPt(MARGIN_MM) - TITLE_PT,
        mmToPt(trim.width - 2 * MARGIN_MM),
      );
    }
    job.step(label, 'generating', i / sources.length);
    try {
      const { rgb, size } = await source.picture();
      job.step(label, 'composing', i / sources.length);
      const k = i % grid.perPage;
      const col = k % grid.columns;
      const row = Math.floor(k / grid.columns);
      const left = MARGIN_MM + col * (grid.cellMm + GAP_MM);
      const top = MARGIN_MM + titleMm + row * (grid.cellMm + captionMm + GAP_MM);
      drawPicture(res, page!, rgb, size, size, { left, top, width: grid.cellMm, height: grid.cellMm });
      const centre = mmToPt(left + grid.cellMm / 2);
      const y = page!.getHeight() - mmToPt(top + grid.cellMm) - CAPTION_PT * 1.4;
      const width = mmToPt(grid.cellMm);
      drawCentredRuns(
        page!,
        [
          { text: `${source.plate}. `, font: res.regular },
          { text: source.name, font: res.italic },
        ],
        CAPTION_PT,
        centre,
        y,
        width,
      );
      drawCentredRuns(
        page!,
        [{ text: birdOrigin(source.seed), font: res.regular }],
        CAPTION_PT * 0.85,
        centre,
        y - CAPTION_PT * 1.3,
        width,
      );
      job.itemDone();
    } catch (err) {
      if (job.signal.aborted) throw err;
      job.itemFailed(label, err);
    }
  }
  job.step(opts.title, 'writing', 1);
  await writeExport(path, await res.doc.save(), overwrite);
  job.wrote(path);
}
