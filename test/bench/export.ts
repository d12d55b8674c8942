/**
 * `npm run bench -- export [--prints N] [--upscaler esrgan|lanczos]`: ESRGAN ×4 on a 256² and a
 * 512² picture (warm, tiled as in a print), then an A4 300-DPI PDF of N prints (default 10),
 * each upscaled to its 2126² printable square, composed and written; wall time per print and
 * peak RSS. The pictures are sample plates cut to 256² (generation is measured by
 * `bench -- generate`); what is timed here is everything a print adds after the bird exists.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { PrintOptions, Upscaler } from '../../preload/contract.js';
import { initBackend } from '../../main/core/runtime/backend.js';
import { ExportJob } from '../../main/core/export/job.js';
import { planPrints } from '../../main/core/export/print-plan.js';
import { runPrints } from '../../main/core/export/prints.js';
import { esrganUpscale } from '../../main/core/export/upscale.js';
import { SAMPLE_PLATES, tempDir } from '../helpers/paths.js';

export async function benchExport(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { prints: { type: 'string', default: '10' }, upscaler: { type: 'string', default: 'esrgan' } },
  });
  const backend = await initBackend(undefined, () => undefined);
  const plates = readdirSync(SAMPLE_PLATES).filter((f) => f.endsWith('.jpg'));
  const square = (i: number, size: number): Promise<Buffer> =>
    sharp(join(SAMPLE_PLATES, plates[i % plates.length]!))
      .resize(size, size)
      .removeAlpha()
      .raw()
      .toBuffer();

  await esrganUpscale(await square(0, 32), 32, 32, 4); // load the model and warm the kernels
  for (const size of [256, 512]) {
    const input = await square(1, size);
    const t = performance.now();
    await esrganUpscale(input, size, size, 4);
    const ms = performance.now() - t;
    console.log(
      JSON.stringify({ bench: 'esrgan-x4', backend: backend.kind, input: size, output: size * 4, ms: Math.round(ms) }),
    );
  }

  const n = Number(values.prints);
  const options: PrintOptions = {
    paper: 'A4',
    orientation: 'portrait',
    dpi: 300,
    marginMm: 15,
    bleed: false,
    tone: 'cream',
    caption: true,
    format: 'pdf',
    upscaler: values.upscaler as Upscaler,
  };
  const { dir, cleanup } = tempDir('bench-export');
  try {
    const sources = Array.from({ length: n }, (_, i) => ({
      plate: i + 1,
      name: `Avis fictitia ${i + 1}`,
      seed: i,
      psi: 0.7,
      date: '2026-12-02',
      picture: async () => ({ rgb: await square(i, 256), size: 256 }),
    }));
    const perPrint: number[] = [];
    let last = performance.now();
    let peakRss = 0;
    const job = new ExportJob(1, 'prints', n, (p) => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (p.current === null && p.done > perPrint.length) {
        perPrint.push(performance.now() - last);
        last = performance.now();
      }
    });
    const t = performance.now();
    await runPrints(await planPrints(sources, options, dir, false), options, false, job);
    const total = performance.now() - t;
    console.log(
      JSON.stringify({
        bench: 'a4-300dpi-pdf',
        backend: backend.kind,
        upscaler: options.upscaler,
        prints: n,
        pictureSide: 2126,
        failed: job.progress.failed.length,
        totalSeconds: Math.round(total / 100) / 10,
        secondsPerPrint: perPrint.map((ms) => Math.round(ms / 100) / 10),
        peakRssMB: Math.round(peakRss / 2 ** 20),
      }),
    );
  } finally {
    cleanup();
  }
}
