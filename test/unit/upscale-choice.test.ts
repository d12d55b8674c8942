import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRINT_PPI, type PrintOptions } from '../../preload/contract.js';
import { layoutPrint } from '../../main/core/export/paper.js';
import {
  adviseUpscale,
  autoUpscaler,
  printPpi,
  smallerPaper,
  upscalerFor,
} from '../../main/core/export/upscale-choice.js';

/** The Export view's defaults: A4 portrait, 15 mm margins, a caption, 300 DPI. */
const A4: PrintOptions = {
  paper: 'A4',
  orientation: 'portrait',
  dpi: 300,
  marginMm: 15,
  bleed: false,
  tone: 'cream',
  caption: true,
  format: 'pdf',
  upscaler: 'auto',
};

test('pixels per printed inch: the bird over the picture side in inches, whatever the DPI', () => {
  const side = layoutPrint(A4).pictureMm.width / 25.4;
  assert.ok(Math.abs(side - 7.09) < 0.01, `A4's picture is ${side} in`);
  assert.equal(printPpi(256, A4), 256 / side);
  for (const dpi of [150, 300, 600]) assert.ok(Math.abs(printPpi(64, { ...A4, dpi }) - 64 / side) < 0.05);
  assert.ok(printPpi(64, { ...A4, paper: 'A5' }) > printPpi(64, A4), 'a smaller paper packs the pixels closer');
});

test('auto: ESRGAN from 100 px per inch after ×4, Lanczos below', () => {
  assert.equal(PRINT_PPI.esrgan, 100);
  assert.equal(autoUpscaler(25), 'esrgan'); // exactly 100 after ×4
  assert.equal(autoUpscaler(24.9), 'lanczos');
  // The birds compared for docs/DECISIONS.md, on A4 and A5 at the defaults.
  const cases: [number, PrintOptions['paper'], string][] = [
    [32, 'A4', 'lanczos'], // 18 after ×4
    [32, 'A5', 'lanczos'], // 28
    [64, 'A4', 'lanczos'], // 36
    [64, 'A5', 'lanczos'], // 55
    [128, 'A4', 'lanczos'], // 72
    [128, 'A5', 'esrgan'], // 110
    [256, 'A4', 'esrgan'], // 144
    [256, 'A5', 'esrgan'], // 220
  ];
  for (const [size, paper, expected] of cases)
    assert.equal(upscalerFor('auto', size, { ...A4, paper }), expected, `${size}² on ${paper}`);
  // Asked for by name, an upscaler is used whatever the size.
  assert.equal(upscalerFor('esrgan', 32, A4), 'esrgan');
  assert.equal(upscalerFor('lanczos', 1024, A4), 'lanczos');
});

test('a 32² or 64² bird on A4 is soft (under 50 px per inch after ×4); a 128² is not', () => {
  assert.equal(PRINT_PPI.soft, 50);
  const tiny = adviseUpscale(32, [1, 2], A4);
  assert.deepEqual([tiny.resolution, tiny.favouriteIds, tiny.ppi, tiny.ppiAfterX4], [32, [1, 2], 4.5, 18.1]);
  assert.equal(tiny.upscaler, 'lanczos');
  assert.equal(tiny.soft, true);
  assert.equal(adviseUpscale(64, [3], A4).soft, true);
  const big = adviseUpscale(128, [4], A4);
  assert.equal(big.soft, false);
  assert.equal(big.smallerPaper, null, 'no paper is offered where none is needed');
  assert.equal(adviseUpscale(32, [1], { ...A4, upscaler: 'esrgan' }).upscaler, 'esrgan');
});

test('a smaller paper: the largest named one that is not soft, else a custom one of the same shape', () => {
  // 64² on A4 is 36 after ×4; on A5 55.
  assert.deepEqual(adviseUpscale(64, [1], A4).smallerPaper, { paper: 'A5', ppiAfterX4: 55.1 });
  // A 128² bird on A2 (33 after ×4): A3 (267 mm of picture, 49) is still soft, Tabloid (249 mm, 52) is not.
  const onA2 = { ...A4, paper: 'A2' as const };
  assert.ok(printPpi(128, { ...A4, paper: 'A3' }) * 4 < 50);
  assert.deepEqual(smallerPaper(128, onA2), {
    paper: 'Tabloid',
    ppiAfterX4: Math.round(printPpi(128, { ...A4, paper: 'Tabloid' }) * 40) / 10,
  });
  // 32² is soft even on A5: a custom paper with A4's proportions, just dense enough.
  const custom = smallerPaper(32, A4)!;
  assert.equal(custom.paper, 'custom');
  const { width, height } = custom.customMm!;
  assert.ok(Number.isInteger(width) && Number.isInteger(height));
  assert.ok(Math.abs(height / width - 297 / 210) < 0.02, `${width} × ${height} keeps A4's shape`);
  const on = (w: number, h: number) => printPpi(32, { ...A4, paper: 'custom', customMm: { width: w, height: h } }) * 4;
  assert.ok(on(width, height) >= 50, `${on(width, height)} on ${width} × ${height} mm`);
  assert.ok(on(width + 2, height + 3) < 50, 'and no larger one of that shape is');
  assert.equal(custom.ppiAfterX4, Math.round(on(width, height) * 10) / 10);
  // Landscape stays landscape.
  const wide = smallerPaper(32, { ...A4, orientation: 'landscape' })!;
  assert.ok(wide.customMm!.width > wide.customMm!.height);
  // A picture is at least 10 mm: a 2 px "bird" is soft on any paper, and nothing is offered.
  assert.equal(smallerPaper(2, A4), null);
});
