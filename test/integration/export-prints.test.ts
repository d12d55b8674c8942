import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import fontkit from '@pdf-lib/fontkit';
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFNumber, PDFRawStream, PDFRef } from 'pdf-lib';
import sharp from 'sharp';
import type { PrintOptions } from '../../preload/contract.js';
import { tf } from '../../main/core/runtime/backend.js';
import { CAPTION_FONT_FILE, CAPTION_ITALIC_FILE } from '../../main/core/export/caption.js';
import { ExistsError } from '../../main/core/export/files.js';
import { ExportJob } from '../../main/core/export/job.js';
import { layoutPrint } from '../../main/core/export/paper.js';
import { planPrints } from '../../main/core/export/print-plan.js';
import { runPrints } from '../../main/core/export/prints.js';
import type { PrintSource } from '../../main/core/export/types.js';
import { esrganUpscale, upscaleTo } from '../../main/core/export/upscale.js';
import { backendReady } from '../helpers/gan.js';
import { SAMPLE_PLATES, tempDir } from '../helpers/paths.js';
import { iccSummary, pngIcc, pngPhys, tiffTags } from '../helpers/readback.js';

const plate = join(SAMPLE_PLATES, 'plate-100-marsh-wren.jpg');

async function square(size: number): Promise<Uint8Array> {
  return sharp(plate).resize(size, size, { fit: 'cover' }).removeAlpha().raw().toBuffer();
}

function source(plateNo: number, name: string, size = 64, fail = false): PrintSource {
  return {
    plate: plateNo,
    name,
    seed: 40 + plateNo,
    psi: 0.7,
    run: 'run 3',
    kimg: 120,
    date: '2026-12-02',
    picture: async () => {
      if (fail) throw new Error('checkpoint file is gone: /nowhere/run-3.safetensors');
      return { rgb: await square(size), size };
    },
  };
}

const options = (o: Partial<PrintOptions>): PrintOptions => ({
  paper: 'A4',
  orientation: 'portrait',
  dpi: 300,
  marginMm: 0,
  bleed: false,
  tone: 'cream',
  caption: true,
  format: 'pdf',
  upscaler: 'lanczos',
  ...o,
});

async function run(sources: PrintSource[], o: PrintOptions, dir: string, overwrite = false): Promise<ExportJob> {
  const plan = await planPrints(sources, o, dir, overwrite);
  const job = new ExportJob(1, 'prints', sources.length);
  await runPrints(plan, o, overwrite, job);
  job.finish();
  return job;
}

test('ESRGAN ×4 through the real model: right size, not what Lanczos makes, no tensors left', async () => {
  await backendReady;
  const input = await square(48);
  await esrganUpscale(await square(8), 8, 8, 4); // loads the model (its weights stay cached)
  const before = tf.memory().numTensors;
  const esr = await esrganUpscale(input, 48, 48, 4);
  assert.equal(esr.length, 192 * 192 * 3);
  const lan = await sharp(input, { raw: { width: 48, height: 48, channels: 3 } })
    .resize(192, 192, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  let diff = 0;
  let meanE = 0;
  let meanL = 0;
  for (let i = 0; i < esr.length; i++) {
    diff += Math.abs(esr[i]! - lan[i]!);
    meanE += esr[i]!;
    meanL += lan[i]!;
  }
  diff /= esr.length;
  assert.ok(diff > 1, `ESRGAN differs from Lanczos (mean |Δ| ${diff.toFixed(2)})`);
  // Yet it is the same picture: same overall brightness, small average difference.
  assert.ok(Math.abs(meanE - meanL) / esr.length < 6, 'same brightness');
  assert.ok(diff < 25, `same picture (mean |Δ| ${diff.toFixed(2)})`);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  // More than one tile (128 px): the seams leave the output the right size and continuous.
  const big = await upscaleTo(await square(160), 160, 600, 'esrgan');
  assert.equal(big.length, 600 * 600 * 3);
});

test('PNG: A4 at 300 DPI is 2480 × 3508 px with pHYs 11811 px/m and an sRGB ICC profile', async () => {
  const { dir, cleanup } = tempDir('print-png');
  try {
    const job = await run([source(1, 'Avis fictitia')], options({ format: 'png' }), dir);
    assert.deepEqual(job.progress.failed, []);
    const file = join(dir, 'plate-001-avis-fictitia.png');
    assert.deepEqual(job.progress.written, [file]);
    const buf = readFileSync(file);
    const meta = await sharp(buf).metadata();
    assert.deepEqual([meta.width, meta.height], [2480, 3508]);
    assert.deepEqual(pngPhys(buf), { x: 11811, y: 11811, unit: 1 });
    const icc = pngIcc(buf);
    assert.ok(icc, 'iCCP present');
    assert.equal(iccSummary(icc.profile).colourSpace, 'RGB');
    assert.match(iccSummary(icc.profile).description, /sRGB/);
    // The picture fills the page width (no margins); above and below it is the cream paper.
    const { data } = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([...data.subarray(0, 3)], [0xf5, 0xf1, 0xe6]);
  } finally {
    cleanup();
  }
});

test('TIFF: resolution tags in inches and an ICC profile; landscape A5 at 150 DPI with bleed', async () => {
  const { dir, cleanup } = tempDir('print-tiff');
  try {
    const o = options({ format: 'tiff', paper: 'A5', orientation: 'landscape', dpi: 150, bleed: true, marginMm: 10 });
    await run([source(2, 'Pica imaginaria')], o, dir);
    const tags = tiffTags(readFileSync(join(dir, 'plate-002-pica-imaginaria.tiff')));
    const l = layoutPrint(o);
    assert.deepEqual([tags.width, tags.height], [l.pagePx.width, l.pagePx.height]);
    assert.deepEqual([tags.width, tags.height], [1276, 909]); // (210 + 6) × (148 + 6) mm at 150 DPI: 1275.6 × 909.4
    assert.equal(tags.resolutionUnit, 2);
    assert.equal(Math.round(tags.xResolution), 150);
    assert.equal(Math.round(tags.yResolution), 150);
    assert.ok(tags.icc && iccSummary(tags.icc).colourSpace === 'RGB');
  } finally {
    cleanup();
  }
});

test('PDF: exact page box in points, trim and bleed boxes, ICC-based picture at the DPI, embedded font', async () => {
  const { dir, cleanup } = tempDir('print-pdf');
  try {
    await run([source(3, 'Ærø ñandú')], options({ marginMm: 15 }), dir);
    await run([source(4, 'Corvus bleedii')], options({ bleed: true, marginMm: 15 }), dir);
    const plain = await PDFDocument.load(readFileSync(join(dir, 'plate-003-ærø-ñandú.pdf')));
    assert.equal(plain.getPageCount(), 1);
    const box = plain.getPage(0).getMediaBox();
    assert.deepEqual([box.x, box.y, box.width.toFixed(2), box.height.toFixed(2)], [0, 0, '595.28', '841.89']);

    const bled = await PDFDocument.load(readFileSync(join(dir, 'plate-004-corvus-bleedii.pdf')));
    const page = bled.getPage(0);
    const b = (216 / 25.4) * 72;
    assert.equal(page.getMediaBox().width.toFixed(2), b.toFixed(2));
    const trim = page.getTrimBox();
    assert.equal(trim.x.toFixed(3), ((3 / 25.4) * 72).toFixed(3));
    assert.equal(trim.width.toFixed(2), '595.28');
    assert.equal(page.getBleedBox().width.toFixed(2), b.toFixed(2));

    // The picture: one image XObject, as many pixels as the printable square holds at 300 DPI.
    const xobjects = page.node.Resources()!.lookup(PDFName.of('XObject'), PDFDict);
    const images = xobjects.keys().map((k) => xobjects.lookup(k) as PDFRawStream);
    assert.equal(images.length, 1);
    const dict = images[0]!.dict;
    const side = layoutPrint(options({ bleed: true, marginMm: 15 })).picturePx.width;
    assert.equal(side, 2126);
    assert.equal(dict.lookup(PDFName.of('Width'), PDFNumber).asNumber(), side);
    const cs = dict.lookup(PDFName.of('ColorSpace'), PDFArray);
    assert.equal(cs.get(0)!.toString(), '/ICCBased');
    const icc = bled.context.lookup(cs.get(1) as PDFRef) as PDFRawStream;
    assert.equal(icc.dict.lookup(PDFName.of('N'), PDFNumber).asNumber(), 3);
    assert.ok(bled.catalog.get(PDFName.of('OutputIntents')), 'output intent present');
    // The caption font travels inside the file.
    const descriptors = bled.context
      .enumerateIndirectObjects()
      .map(([, obj]) => obj)
      .filter((obj): obj is PDFDict => obj instanceof PDFDict && obj.has(PDFName.of('FontFile2')));
    const names = descriptors.map((d) => d.get(PDFName.of('FontName'))!.toString()).sort();
    assert.equal(names.length, 2);
    assert.match(names.join(' '), /NotoSerif-Italic/);
  } finally {
    cleanup();
  }
});

test('PDF fonts are subsets: every letter of the caption, in each script it allows, drawn as the whole face draws it', async () => {
  const { dir, cleanup } = tempDir('print-fonts');
  try {
    const name = 'Ærø ñandú Κύκνος Снегирь'; // Latin with accents, Greek, Cyrillic: what checkCaptionText allows
    await run([source(5, name)], options({ marginMm: 15 }), dir);
    const file = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.pdf'))!,
    );
    const pdf = await PDFDocument.load(readFileSync(file));
    const faces = pdf.context
      .enumerateIndirectObjects()
      .map(([, obj]) => obj)
      .filter((obj): obj is PDFDict => obj instanceof PDFDict && obj.has(PDFName.of('FontFile2')))
      .map((d) => {
        const stream = pdf.context.lookup(d.get(PDFName.of('FontFile2'))) as PDFRawStream;
        const filter = stream.dict.get(PDFName.of('Filter'))?.toString();
        const bytes = filter === '/FlateDecode' ? inflateSync(stream.contents) : Buffer.from(stream.contents);
        return { name: d.get(PDFName.of('FontName'))!.toString(), bytes };
      });
    assert.equal(faces.length, 2);
    const wholeRegular = readFileSync(CAPTION_FONT_FILE);
    const wholeItalic = readFileSync(CAPTION_ITALIC_FILE);
    for (const face of faces) {
      const italic = /Italic/.test(face.name);
      const whole = fontkit.create(italic ? wholeItalic : wholeRegular);
      const cut = fontkit.create(face.bytes);
      assert.ok(face.bytes.length < (italic ? wholeItalic : wholeRegular).length / 4, `${face.name} is a subset`);
      const text = italic ? name : `Plate 5. seed 5 ψ 0.7 · 0123456789`;
      for (const ch of text.replace(/\s/g, '')) {
        const g = cut.glyphForCodePoint(ch.codePointAt(0)!);
        assert.ok(g.id !== 0, `${face.name} has a glyph for ${ch}`);
        assert.equal(
          g.path.toSVG(),
          whole.glyphForCodePoint(ch.codePointAt(0)!).path.toSVG(),
          `${ch} as the face draws it`,
        );
      }
    }
  } finally {
    cleanup();
  }
});

test('a batch refuses to overwrite unless allowed, keeps finished prints when one fails, and can be cancelled', async () => {
  const { dir, cleanup } = tempDir('print-batch');
  try {
    const o = options({ paper: 'A5', dpi: 150, format: 'png', caption: false });
    const first = await run([source(1, 'Alpha'), source(2, 'Beta', 64, true), source(3, 'Gamma')], o, dir);
    assert.deepEqual(readdirSync(dir).sort(), ['plate-001-alpha.png', 'plate-003-gamma.png']);
    assert.equal(first.progress.done, 3);
    assert.deepEqual(first.progress.failed, [
      { name: 'Plate 2 Beta', error: 'checkpoint file is gone: /nowhere/run-3.safetensors' },
    ]);

    const before = readFileSync(join(dir, 'plate-001-alpha.png'));
    await assert.rejects(run([source(1, 'Alpha')], o, dir), (err: Error) => {
      assert.ok(err instanceof ExistsError);
      assert.match(err.message, /plate-001-alpha\.png/);
      return true;
    });
    assert.deepEqual(readFileSync(join(dir, 'plate-001-alpha.png')), before, 'untouched');
    await run([source(1, 'Alpha', 32)], o, dir, true);
    assert.notDeepEqual(readFileSync(join(dir, 'plate-001-alpha.png')), before, 'replaced when allowed');

    // Cancel while the second print upscales: the first stays, nothing else is written.
    const { dir: d2, cleanup: c2 } = tempDir('print-cancel');
    try {
      const plan = await planPrints([source(1, 'One'), source(2, 'Two', 200)], { ...o, upscaler: 'esrgan' }, d2, false);
      const job = new ExportJob(2, 'prints', 2, (p) => {
        if (p.current?.name === 'Plate 2 Two' && p.current.step === 'upscaling' && p.current.fraction > 0) job.cancel();
      });
      await assert.rejects(runPrints(plan, { ...o, upscaler: 'esrgan' }, false, job), /cancelled/);
      assert.equal(job.finish(new Error('cancelled')).state, 'cancelled');
      assert.deepEqual(readdirSync(d2), ['plate-001-one.png']);
    } finally {
      c2();
    }
  } finally {
    cleanup();
  }
});

test('bad batches are refused before anything is written', async () => {
  const { dir, cleanup } = tempDir('print-bad');
  try {
    await assert.rejects(planPrints([], options({}), dir, false), /at least one favourite/);
    await assert.rejects(planPrints([source(1, 'A')], options({ dpi: 2400 }), dir, false), /1 to 1200/);
    await assert.rejects(planPrints([source(1, '鳥')], options({}), dir, false), /cannot write "鳥"/);
    await assert.rejects(
      planPrints([source(1, 'Same'), source(1, 'same')], options({}), dir, false),
      /both be written to/,
    );
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    cleanup();
  }
});

test('upscaler auto: a 32² bird on A5 is enlarged with Lanczos, a 128² one with ESRGAN', async () => {
  await backendReady;
  const { dir, cleanup } = tempDir('print-auto');
  try {
    // 72 DPI keeps the rasters small; the choice depends on the picture's inches, not on the DPI.
    const o = options({ format: 'png', paper: 'A5', dpi: 72, marginMm: 15, caption: false, upscaler: 'auto' });
    const box = layoutPrint(o).picturePx;
    await run([source(1, 'Parva', 32), source(2, 'Media', 128)], o, dir);
    const pictureOf = async (file: string): Promise<Buffer> =>
      sharp(join(dir, file)).extract(box).removeAlpha().raw().toBuffer();
    const [small, medium] = await Promise.all([pictureOf('plate-001-parva.png'), pictureOf('plate-002-media.png')]);
    const by = async (size: number, upscaler: 'esrgan' | 'lanczos') =>
      upscaleTo(await square(size), size, box.width, upscaler);
    // 32² on A5 is 28 px per inch after ×4 (under 100): Lanczos, byte for byte.
    assert.ok(small.equals(await by(32, 'lanczos')), 'the 32² bird went through Lanczos');
    assert.ok(!small.equals(await by(32, 'esrgan')));
    // 128² on A5 is 110 after ×4: ESRGAN.
    assert.ok(medium.equals(await by(128, 'esrgan')), 'the 128² bird went through ESRGAN');
    assert.ok(!medium.equals(await by(128, 'lanczos')));
  } finally {
    cleanup();
  }
});
