import { execFile } from 'node:child_process';

export interface ChildResult<T> {
  wallSeconds: number;
  result: T;
}

/**
 * Runs a bench worker as a whole separate process (start-up included in the wall time) and
 * returns its last stdout line parsed as JSON.
 */
export function runChild<T>(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  interpreter = process.execPath,
): Promise<ChildResult<T>> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      interpreter,
      [script, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${script} failed: ${stderr || err.message}`));
        const last = stdout.trim().split('\n').pop()!;
        resolve({ wallSeconds: (performance.now() - started) / 1000, result: JSON.parse(last) as T });
      },
    );
  });
}
