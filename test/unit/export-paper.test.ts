import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrintOptions } from '../../preload/contract.js';
import { captionText, checkCaptionText } from '../../main/core/export/caption.js';
import { outputPath, printFileName, slug } from '../../main/core/export/files.js';
import { PAPER_TONE_HEX, dpiToPxPerMetre, layoutPrint, mmToPt, mmToPx } from '../../main/core/export/paper.js';
import { DEFAULT_PAPER } from '../../main/core/paper-colour.js';

const base: PrintOptions = {
  paper: 'A4',
  orientation: 'portrait',
  dpi: 300,
  marginMm: 0,
  bleed: false,
  tone: 'cream',
  caption: false,
  format: 'pdf',
  upscaler: 'lanczos',
};

test('A4 at 300 DPI is 2480 × 3508 px and 595.28 × 841.89 pt', () => {
  const l = layoutPrint(base);
  assert.deepEqual(l.pagePx, { width: 2480, height: 3508 });
  assert.equal(l.pagePt.width.toFixed(2), '595.28');
  assert.equal(l.pagePt.height.toFixed(2), '841.89');
  // No margins, no caption: the picture is as wide as the page, centred vertically.
  assert.deepEqual(l.picturePx, { left: 0, top: 514, width: 2480, height: 2480 });
});

test('mm → px and pt at any DPI; pHYs stores pixels per metre', () => {
  assert.equal(mmToPx(25.4, 600), 600);
  assert.equal(mmToPx(148, 150), 874);
  assert.equal(mmToPt(25.4), 72);
  assert.equal(dpiToPxPerMetre(300), 11811);
  assert.deepEqual(layoutPrint({ ...base, paper: 'Letter', dpi: 600 }).pagePx, { width: 5100, height: 6600 });
  assert.deepEqual(layoutPrint({ ...base, paper: 'A2', dpi: 150 }).pagePx, { width: 2480, height: 3508 });
});

test('landscape swaps the sides; custom sizes are taken as given', () => {
  const l = layoutPrint({ ...base, paper: 'A5', orientation: 'landscape' });
  assert.deepEqual(l.trimMm, { width: 210, height: 148 });
  const c = layoutPrint({ ...base, paper: 'custom', customMm: { width: 100, height: 150 }, dpi: 254 });
  assert.deepEqual(c.pagePx, { width: 1000, height: 1500 });
});

test('margins shrink the picture; it stays centred in the printable area', () => {
  const l = layoutPrint({ ...base, marginMm: 15 });
  assert.deepEqual(l.printableMm, { left: 15, top: 15, width: 180, height: 267 });
  assert.equal(l.pictureMm.width, 180);
  assert.equal(l.pictureMm.left, 15);
  assert.equal(l.pictureMm.top, 15 + (267 - 180) / 2);
  assert.equal(l.picturePx.width, mmToPx(195, 300) - mmToPx(15, 300));
  assert.equal(l.picturePx.left, mmToPx(15, 300));
});

test('bleed adds 3 mm of paper on every side; margins are measured from the trim', () => {
  const l = layoutPrint({ ...base, marginMm: 10, bleed: true });
  assert.deepEqual(l.pageMm, { width: 216, height: 303 });
  assert.deepEqual(l.pagePx, { width: mmToPx(216, 300), height: mmToPx(303, 300) });
  assert.equal(l.printableMm.left, 13);
  assert.equal(l.pictureMm.width, 190);
});

test('the caption takes a band under the picture; picture and caption are centred together', () => {
  const l = layoutPrint({ ...base, marginMm: 15, caption: true, orientation: 'landscape' });
  assert.ok(l.caption && l.captionMm);
  assert.equal(l.caption.fontPt, 10); // A4's short side
  const bandMm = ((l.caption.lineHeightPt * 3) / 72) * 25.4;
  assert.equal(l.pictureMm.width, 180 - bandMm); // landscape A4: the height limits the picture
  assert.equal(l.captionMm.top, l.pictureMm.top + l.pictureMm.height);
  const below = 15 + 180 - (l.captionMm.top + l.captionMm.height);
  assert.ok(Math.abs(below - (l.pictureMm.top - 15)) < 1e-9, 'block centred vertically');
  assert.equal(layoutPrint({ ...base, paper: 'A2', caption: true }).caption!.fontPt, 16);
  assert.equal(layoutPrint({ ...base, paper: 'A5', caption: true }).caption!.fontPt, 7);
});

test('impossible requests are refused with what was wrong', () => {
  assert.throws(() => layoutPrint({ ...base, dpi: 0 }), /DPI must be a whole number from 1 to 1200 \(got 0\)/);
  assert.throws(() => layoutPrint({ ...base, dpi: 1201 }), /1 to 1200/);
  assert.throws(() => layoutPrint({ ...base, dpi: -300 }), /DPI/);
  assert.throws(() => layoutPrint({ ...base, dpi: 300.5 }), /whole number/);
  assert.throws(() => layoutPrint({ ...base, paper: 'custom' }), /custom paper needs a width and a height/);
  assert.throws(
    () => layoutPrint({ ...base, paper: 'custom', customMm: { width: 0, height: 100 } }),
    /width must be 20–1500 mm \(got 0\)/,
  );
  assert.throws(
    () => layoutPrint({ ...base, paper: 'custom', customMm: { width: 100, height: 1e9 } }),
    /height must be 20–1500 mm/,
  );
  assert.throws(() => layoutPrint({ ...base, marginMm: -1 }), /margins must be 0 mm or more/);
  assert.throws(() => layoutPrint({ ...base, marginMm: 101 }), /leave no room for the picture/);
  assert.throws(() => layoutPrint({ ...base, paper: 'A2', dpi: 1200 }), /too large to render/);
});

test('paper tones: cream is the app paper colour', () => {
  assert.equal(PAPER_TONE_HEX.cream, DEFAULT_PAPER);
  assert.equal(layoutPrint({ ...base, tone: 'antique' }).tone, PAPER_TONE_HEX.antique);
});

test('caption says plate, name, seed, ψ, run, kimg and date; the font covers what it can and says what not', () => {
  const c = captionText({
    plate: 7,
    name: 'Avis fictitia',
    seed: 42,
    psi: 0.7,
    run: 'run 3',
    kimg: 120.04,
    date: '2026-12-02',
  });
  assert.deepEqual(c, {
    plate: 'Plate 7.',
    name: 'Avis fictitia',
    details: 'seed 42  ·  ψ 0.7  ·  run 3  ·  120 kimg  ·  2026-12-02',
  });
  checkCaptionText('Ærø ñandú Œuvre — Ωμέγα птица Đặng');
  assert.throws(() => checkCaptionText('鳥 bird'), /cannot write "鳥" \(U\+9CE5\)/);
  assert.throws(() => checkCaptionText('tab\there'), /control character/);
});

test('file names come from plate number and name; paths stay inside the folder', () => {
  assert.equal(printFileName(7, 'Avis fictitia', 'pdf'), 'plate-007-avis-fictitia.pdf');
  assert.equal(printFileName(12, '../../etc/passwd', 'png'), 'plate-012-etc-passwd.png');
  assert.equal(slug('Ærø / Ñandú'), 'ærø-ñandú');
  assert.equal(slug('???'), 'untitled');
  // Sixty letters of a 4-byte script would make names past 255 bytes: a slug holds 180 bytes at most.
  assert.equal(slug('𠀀'.repeat(60)), '𠀀'.repeat(45));
  assert.equal(outputPath('/tmp/out', 'a.zip'), '/tmp/out/a.zip');
  assert.throws(() => outputPath('/tmp/out', '../a.zip'), /path separator/);
  assert.throws(() => outputPath('/tmp/out', 'sub\\a.zip'), /path separator/);
  assert.throws(() => outputPath('/tmp/out', '..'), /not a file name/);
  assert.throws(() => outputPath('/tmp/out', '/etc/passwd'), /path separator/);
});
