import sharp from 'sharp';
import { upscaleTo } from '/work/wt/h-ui/dist/main/core/export/upscale.js';
import { layoutPrint } from '/work/wt/h-ui/dist/main/core/export/paper.js';
import { writeFileSync } from 'node:fs';
const plate = '/work/wt/h-ui/resources/sample-plates/' + (process.argv[2] ?? 'plate-113-blue-bird.jpg');
const sizes = (process.argv[3] ?? '32,64,256').split(',').map(Number);
const papers = (process.argv[4] ?? 'A4,A5').split(',');
const base = { orientation: 'portrait', dpi: 300, marginMm: 15, bleed: false, tone: 'cream', caption: true, format: 'png' };
for (const size of sizes) {
  const rgb = await sharp(plate).resize(size, size, { fit: 'cover', kernel: 'lanczos3' }).removeAlpha().raw().toBuffer();
  await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png().toFile(`/tmp/upx/src-${size}.png`);
  for (const paper of papers) {
    const layout = layoutPrint({ ...base, paper });
    const target = layout.picturePx.width;
    const inches = layout.pictureMm.width / 25.4;
    const ppi = size / inches;
    for (const up of ['esrgan', 'lanczos']) {
      const t0 = Date.now();
      const pic = await upscaleTo(new Uint8Array(rgb), size, target, up);
      const ms = Date.now() - t0;
      const img = sharp(pic, { raw: { width: target, height: target, channels: 3 } });
      // a 600 px crop at 300 DPI = 5.1 cm of paper, from the picture's middle-upper area
      const c = Math.round(target * 0.35);
      await img.clone().extract({ left: c, top: Math.round(target * 0.25), width: 600, height: 600 }).png().toFile(`/tmp/upx/crop-${size}-${paper}-${up}.png`);
      await img.clone().resize(800, 800, { kernel: 'lanczos3' }).png().toFile(`/tmp/upx/whole-${size}-${paper}-${up}.png`);
      console.log(JSON.stringify({ size, paper, up, target, inches: +inches.toFixed(2), ppi: +ppi.toFixed(1), ppiX4: +(4 * ppi).toFixed(1), ms }));
    }
  }
}
