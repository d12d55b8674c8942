/**
 * One print, composed: the upscaled picture on paper of the chosen tone with its caption, as a
 * page raster (PNG with pHYs, TIFF with resolution tags) or as a PDF page (exact size in points,
 * the picture an sRGB ICC-tagged image, the caption real text in the embedded serif font).
 */
import { deflateSync } from 'node:zlib';
import {
  PDFDocument,
  PDFName,
  PDFString,
  concatTransformationMatrix,
  drawObject,
  popGraphicsState,
  pushGraphicsState,
  rgb as pdfRgb,
  type PDFFont,
  type PDFPage,
  type PDFRef,
} from 'pdf-lib';
import fontkit from '@pdf-lib/fontkit';
import sharp, { type OverlayOptions } from 'sharp';
import { CAPTION_FONT_FAMILY, CAPTION_FONT_FILE, captionFontSubsets, type CaptionText } from './caption.js';
import { mmToPt, type Box, type PrintLayout } from './paper.js';

const INK = '#2b2620';

let srgbProfile: Promise<Buffer> | null = null;
/** The sRGB ICC profile libvips tags images with, so PDF and rasters carry the same one. */
export function srgbIcc(): Promise<Buffer> {
  srgbProfile ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } })
    .withIccProfile('srgb')
    .png()
    .toBuffer()
    .then((png) => sharp(png).metadata())
    .then((m) => {
      if (!m.icc) throw new Error('libvips did not attach an sRGB profile');
      return m.icc;
    });
  return srgbProfile;
}

const escapeMarkup = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A caption line rendered by Pango in the embedded font, at the print's DPI, shrunk to fit `maxWidth`. */
async function captionLine(markup: string, fontPt: number, dpi: number, maxWidth: number): Promise<Buffer> {
  let img = sharp({
    text: {
      text: `<span foreground="${INK}">${markup}</span>`,
      font: `${CAPTION_FONT_FAMILY} ${fontPt}`,
      fontfile: CAPTION_FONT_FILE,
      dpi,
      rgba: true,
    },
  });
  const { width } = await img.metadata();
  if (width && width > maxWidth) img = sharp(await img.png().toBuffer()).resize({ width: maxWidth });
  return img.png().toBuffer();
}

/** The whole page as a raster: `picture` is picturePx.width² RGB. */
export async function renderPageRaster(
  layout: PrintLayout,
  picture: Buffer,
  caption: CaptionText | null,
  format: 'png' | 'tiff',
): Promise<Buffer> {
  const p = layout.picturePx;
  const composites: OverlayOptions[] = [
    { input: picture, raw: { width: p.width, height: p.height, channels: 3 }, left: p.left, top: p.top },
  ];
  if (caption && layout.caption && layout.captionMm) {
    const px = (mm: number): number => Math.round((mm / 25.4) * layout.dpi);
    const band = layout.captionMm;
    const lineH = (layout.caption.lineHeightPt / 72) * layout.dpi;
    const maxWidth = px(band.width);
    const lines = [
      `${escapeMarkup(caption.plate)} <i>${escapeMarkup(caption.name)}</i>`,
      escapeMarkup(caption.details),
    ];
    for (const [i, markup] of lines.entries()) {
      const img = await captionLine(
        markup,
        i === 0 ? layout.caption.fontPt : layout.caption.fontPt * 0.8,
        layout.dpi,
        maxWidth,
      );
      const m = await sharp(img).metadata();
      const centreY = px(band.top) + lineH * (1.5 + i); // one line of gap under the picture
      composites.push({
        input: img,
        left: Math.round(px(band.left) + (maxWidth - m.width!) / 2),
        top: Math.round(centreY - m.height! / 2),
      });
    }
  }
  const page = sharp({
    create: { width: layout.pagePx.width, height: layout.pagePx.height, channels: 3, background: layout.tone },
  })
    .composite(composites)
    .withIccProfile('srgb')
    .withDensity(layout.dpi);
  return format === 'png' ? page.png({ compressionLevel: 6 }).toBuffer() : page.tiff({ compression: 'lzw' }).toBuffer();
}

/** Fonts and the colour profile a PDF shares between its pages. */
export interface PdfResources {
  doc: PDFDocument;
  regular: PDFFont;
  italic: PDFFont;
  icc: PDFRef;
}

/**
 * A PDF for prints. `text` is every character each face will set (captions, titles): the fonts
 * are embedded as subsets of exactly those, plus printable ASCII and the caption's own marks.
 */
export async function newPrintDocument(
  title: string,
  text: { regular: string; italic: string },
): Promise<PdfResources> {
  const doc = await PDFDocument.create();
  doc.registerFontkit(fontkit);
  const { regular, italic } = await captionFontSubsets(text.regular, `${text.italic}${title}`);
  const icc = await srgbIcc();
  const iccRef = doc.context.register(
    doc.context.stream(deflateSync(icc), { N: 3, Alternate: 'DeviceRGB', Filter: 'FlateDecode' }),
  );
  // The output intent says what every DeviceRGB colour on the pages (paper tone, ink) means: sRGB.
  doc.catalog.set(
    PDFName.of('OutputIntents'),
    doc.context.obj([
      doc.context.obj({
        Type: 'OutputIntent',
        S: 'GTS_PDFA1',
        OutputConditionIdentifier: PDFString.of('sRGB IEC61966-2.1'),
        Info: PDFString.of('sRGB IEC61966-2.1'),
        DestOutputProfile: iccRef,
      }),
    ]),
  );
  doc.setTitle(title);
  doc.setProducer('Plumage');
  doc.setCreator('Plumage');
  // Subsets made by HarfBuzz (caption.ts), embedded whole: pdf-lib's own subsetting dropped glyphs
  // of Noto Serif (a caption missing "Plate" and "ø" in poppler).
  return {
    doc,
    regular: await doc.embedFont(regular, { subset: false }),
    italic: await doc.embedFont(italic, { subset: false }),
    icc: iccRef,
  };
}

/** Places a width × height RGB picture in `box` (mm from the page's top-left) as an ICC-based image. */
export function drawPicture(
  res: PdfResources,
  page: PDFPage,
  rgb: Uint8Array,
  width: number,
  height: number,
  box: Box,
): void {
  const ctx = res.doc.context;
  const image = ctx.register(
    ctx.stream(deflateSync(rgb, { level: 6 }), {
      Type: 'XObject',
      Subtype: 'Image',
      Width: width,
      Height: height,
      BitsPerComponent: 8,
      ColorSpace: ctx.obj([PDFName.of('ICCBased'), res.icc]),
      Filter: 'FlateDecode',
    }),
  );
  const name = page.node.newXObject('Plate', image);
  const pageHeight = page.getHeight();
  page.pushOperators(
    pushGraphicsState(),
    concatTransformationMatrix(
      mmToPt(box.width),
      0,
      0,
      mmToPt(box.height),
      mmToPt(box.left),
      pageHeight - mmToPt(box.top + box.height),
    ),
    drawObject(name),
    popGraphicsState(),
  );
}

function hexToPdf(hex: string): ReturnType<typeof pdfRgb> {
  const n = parseInt(hex.slice(1), 16);
  return pdfRgb(((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255);
}

/** Text runs centred on a line, shrunk together when they would not fit `maxWidthPt`. */
export function drawCentredRuns(
  page: PDFPage,
  runs: { text: string; font: PDFFont }[],
  sizePt: number,
  centreXPt: number,
  baselineYPt: number,
  maxWidthPt: number,
): void {
  const widthAt = (size: number): number => runs.reduce((w, r) => w + r.font.widthOfTextAtSize(r.text, size), 0);
  const size = Math.min(sizePt, (sizePt * maxWidthPt) / Math.max(1e-6, widthAt(sizePt)));
  let x = centreXPt - widthAt(size) / 2;
  for (const r of runs) {
    page.drawText(r.text, { x, y: baselineYPt, size, font: r.font, color: hexToPdf(INK) });
    x += r.font.widthOfTextAtSize(r.text, size);
  }
}

/** Adds one print as a page of `res.doc`. */
export function addPrintPage(
  res: PdfResources,
  layout: PrintLayout,
  picture: Buffer,
  caption: CaptionText | null,
): void {
  const page = res.doc.addPage([layout.pagePt.width, layout.pagePt.height]);
  page.drawRectangle({
    x: 0,
    y: 0,
    width: layout.pagePt.width,
    height: layout.pagePt.height,
    color: hexToPdf(layout.tone),
  });
  if (layout.bleedMm > 0) {
    const b = mmToPt(layout.bleedMm);
    page.setTrimBox(b, b, mmToPt(layout.trimMm.width), mmToPt(layout.trimMm.height));
    page.setBleedBox(0, 0, layout.pagePt.width, layout.pagePt.height);
  }
  drawPicture(res, page, picture, layout.picturePx.width, layout.picturePx.height, layout.pictureMm);
  if (caption && layout.caption && layout.captionMm) {
    const band = layout.captionMm;
    const centreX = mmToPt(band.left + band.width / 2);
    const top = layout.pagePt.height - mmToPt(band.top);
    const { fontPt, lineHeightPt } = layout.caption;
    const maxWidth = mmToPt(band.width);
    // Baselines sit a third of a line below each line's centre, matching the raster's layout.
    const baseline = (i: number): number => top - lineHeightPt * (1.5 + i) - fontPt * 0.3;
    drawCentredRuns(
      page,
      [
        { text: `${caption.plate} `, font: res.regular },
        { text: caption.name, font: res.italic },
      ],
      fontPt,
      centreX,
      baseline(0),
      maxWidth,
    );
    drawCentredRuns(page, [{ text: caption.details, font: res.regular }], fontPt * 0.8, centreX, baseline(1), maxWidth);
  }
}
