import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';
import { runChild } from './child.js';

const WORKER = fileURLToPath(new URL('./ingest-worker.js', import.meta.url));
// The .py file is not compiled: it sits in the source tree (dist/test/bench → test/bench).
const PIL_WORKER = fileURLToPath(new URL('../../../test/bench/naive_pil.py', import.meta.url));
const PYTHON = process.env.PLUMAGE_PYTHON ?? '/usr/bin/python3';

function hasPil(): boolean {
  return spawnSync(PYTHON, ['-c', 'import PIL'], { stdio: 'ignore' }).status === 0;
}
/** The team's 103 full-size plates, where the repository sits beside its shared/ folder. */
const BIRDS_DEV = join(REPO_ROOT, '..', 'shared', 'datasets', 'birds-dev');
type WorkerResult = { images: number; seconds: number; peakRssMB: number };

/** Plumage's ingest against the naive loop, as whole processes, side by side per resolution. */
export async function benchIngest(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { folder: { type: 'string' }, resolution: { type: 'string' } } });
  const folder = values.folder ?? (existsSync(BIRDS_DEV) ? BIRDS_DEV : undefined);
  if (folder === undefined) {
    throw new Error(`no folder to ingest: pass --folder DIR (${BIRDS_DEV} is not there)`);
  }
  const resolutions = values.resolution ? [Number(values.resolution)] : [512, 256];
  const pilAvailable = hasPil();
  for (const resolution of resolutions) {
    const tmp = tempDir('bench-ingest');
    try {
      // Alternate the sides so drift on this noisy machine does not favour either.
      const pil = pilAvailable
        ? await runChild<WorkerResult>(PIL_WORKER, [folder, String(resolution), join(tmp.dir, 'pil')], {}, PYTHON)
        : null;
      const ours = await runChild<WorkerResult>(WORKER, ['plumage', folder, String(resolution), join(tmp.dir, 'home')]);
      const naive = await runChild<WorkerResult>(WORKER, ['naive', folder, String(resolution), join(tmp.dir, 'naive')]);
      const rate = (r: { wallSeconds: number; result: WorkerResult }): number => r.result.images / r.wallSeconds;
      console.log(
        JSON.stringify({
          bench: 'ingest',
          folder,
          resolution,
          images: ours.result.images,
          plumage: {
            wallSeconds: round(ours.wallSeconds),
            imagesPerSec: round(rate(ours)),
            peakRssMB: ours.result.peakRssMB,
            note: 'cache + thumbnails + database, whole process',
          },
          naivePil: pil
            ? {
                wallSeconds: round(pil.wallSeconds),
                imagesPerSec: round(rate(pil)),
                peakRssMB: pil.result.peakRssMB,
                note: 'PIL: full decode, crop, Lanczos resize, save PNG, one at a time, whole process',
              }
            : 'python3 with PIL not found (apt-get install python3-pil)',
          speedupVsPil: pil ? round(rate(ours) / rate(pil)) : null,
          naiveSharp: {
            wallSeconds: round(naive.wallSeconds),
            imagesPerSec: round(rate(naive)),
            peakRssMB: naive.result.peakRssMB,
            note: 'full decode, crop, resize, save PNG, one at a time, whole process',
          },
          speedupVsNaiveSharp: round(rate(ours) / rate(naive)),
        }),
      );
    } finally {
      tmp.cleanup();
    }
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;
