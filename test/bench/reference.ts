/**
 * The reference's side of `npm run bench -- train|generate|kernels --reference CHECKOUT`:
 * scripts/reference/step_time.py run by a Python with PyTorch (`--python`, else Debian's
 * /usr/bin/python3 where it exists, else `python3` on the PATH) on a checkout of
 * NVlabs/stylegan2-ada-pytorch. When it cannot run (no Python, no torch, no checkout) the bench
 * prints why in its line and still measures Plumage's side.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** From dist/test/bench/ up to the repository's scripts/reference/step_time.py. */
export const stepTimeScript = (): string =>
  fileURLToPath(new URL('../../../scripts/reference/step_time.py', import.meta.url));

export interface ReferenceTrain {
  batch: number;
  msPerPhase: Record<string, number>;
  cpuMsPerPhase: Record<string, number>;
  msGStep: number;
  msDStep: number;
  msDR1Step: number;
  msGPLStep: number;
  imagesPerSec: number;
  secondsPerKimg: number;
}

export interface ReferenceBird {
  architecture: Record<string, number>;
  msPerImage: number;
  cpuMsPerImage: number;
  convGflops: number | null;
}

export interface ReferenceTimes {
  torch: string;
  threads: number;
  train?: ReferenceTrain;
  bird?: ReferenceBird;
  native?: { conv3x3Gflops: number; copyGBs: number };
  loadAverage: number;
}

export const defaultPython = (): string => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** Runs step_time.py; resolves to its line, or to `{ error }` saying why the reference side could not run. */
export function runReference(
  checkout: string,
  args: string[],
  python = defaultPython(),
): Promise<ReferenceTimes | { error: string }> {
  const script = stepTimeScript();
  if (!existsSync(script))
    return Promise.resolve({ error: `${script} is missing (the bench bundle does not carry it)` });
  return new Promise((resolve) => {
    execFile(python, [script, '--ref', checkout, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT'
            ? `${python} was not found: the reference side needs Python 3 with PyTorch (--python PATH)`
            : /No module named 'torch'/.test(stderr)
              ? `${python} has no PyTorch: the reference side needs it (Debian: python3-torch; --python PATH)`
              : `the reference side failed: ${(stderr || err.message).trim().split('\n').slice(-3).join(' ')}`;
        return resolve({ error: why });
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ReferenceTimes);
      } catch {
        resolve({ error: `step_time.py printed no JSON line: ${stdout.slice(0, 200)}` });
      }
    });
  });
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/** Plumage's value over the reference's, per key both have (>1: Plumage is slower). */
export function ratios(ours: Record<string, number>, theirs: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(ours)) {
    const r = theirs[k];
    if (typeof v === 'number' && typeof r === 'number' && r > 0) out[k] = round(v / r);
  }
  return out;
}

const PHASE_STEPS = ['msGStep', 'msDStep', 'msDR1Step', 'msGPLStep', 'secondsPerKimg'] as const;

/**
 * The train bench's fields for the reference beside Plumage's line: the reference's own numbers,
 * and Plumage's over the reference's per phase and step, by the wall clock and by CPU time
 * (ms per phase; the CPU time is what a machine busy with other work inflates least), and the
 * two-replica s/kimg over the reference's one thread where the line has replicas.
 */
export function trainBeside(line: Record<string, unknown>, ref: ReferenceTimes | { error: string }): void {
  if ('error' in ref) {
    line.reference = { error: ref.error };
    return;
  }
  if (!ref.train) return;
  const t = ref.train;
  line.reference = { torch: ref.torch, threads: ref.threads, loadAverage: ref.loadAverage, ...t };
  const ours = Object.fromEntries(PHASE_STEPS.map((k) => [k, line[k] as number]));
  const theirs = Object.fromEntries(PHASE_STEPS.map((k) => [k, t[k]]));
  const ratio: Record<string, unknown> = {
    ...ratios(ours, theirs),
    perPhase: ratios(line.msPerPhase as Record<string, number>, t.msPerPhase),
    cpuPerPhase: ratios(line.cpuMsPerPhase as Record<string, number>, t.cpuMsPerPhase),
  };
  const parallel = line.parallel as { imagesPerSecParallel?: number } | undefined;
  if (parallel?.imagesPerSecParallel)
    ratio.secondsPerKimgTwoReplicas = round(1000 / parallel.imagesPerSecParallel / t.secondsPerKimg);
  line.referenceRatio = ratio;
}
