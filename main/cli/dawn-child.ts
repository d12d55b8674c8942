/**
 * Commands that draw in their own process (the insight commands: the feature network, a
 * projection) would load Dawn there, and Dawn writes its warnings to fd 2 from native code,
 * which Node cannot filter in-process (core/util/child-stderr.ts). So such a command, once its
 * flags are checked, runs itself once more as a child whose stderr this process reads through the same filter: the
 * user sees the command's own words, Dawn's lines go to the debug log.
 */
import { spawn } from 'node:child_process';
import { forwardStderr } from '../core/util/child-stderr.js';

const MARK = 'PLUMAGE_STDERR_FILTERED';

/** True in the child: the command runs here. */
export const insideFilteredChild = (): boolean => process.env[MARK] === '1';

/** Runs this CLI invocation again as a child with a filtered stderr; resolves to its exit code. */
export function rerunFiltered(command: string): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [MARK]: '1' },
  });
  forwardStderr(child.stderr, `plumage ${command}`);
  // Ctrl-C reaches the whole process group: the child decides what it means; this one waits for it.
  const ignore = (): void => {};
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, ignore);
  return new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`plumage ${command}: cannot start: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      // A child killed by a signal exits as a shell reports it: 128 + the signal's number.
      const signals: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 };
      resolve(code ?? 128 + (signal ? (signals[signal] ?? 1) : 1));
    });
  });
}
