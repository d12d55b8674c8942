/**
 * Under Electron the studio's children (the trainer, the generator and export processes) run as
 * utility processes: Node children that Electron manages and ends with the app, and GPU work kept
 * out of the main process. The child reaches its parent through `process.parentPort`
 * (util/transport.ts's parentTransport). A utility process has no IPC channel to close, so
 * ending one is SIGTERM; it has no `detached` either (`ownGroup` cannot be had), so it stays in
 * the app's process group and a terminal's Ctrl-C reaches it too: the trainer ignores SIGINT for
 * that reason (only its supervisor ends it, with a pause that writes a checkpoint), and the app
 * quits on SIGINT and pauses every run on the way out.
 */
import { utilityProcess } from 'electron';
import { forwardStderr } from '../core/util/child-stderr.js';
import { lowerPriority, type SpawnChild } from '../core/util/spawn-child.js';

export const spawnUtilityChild: SpawnChild = (script, opts) => {
  const child = utilityProcess.fork(script, [...(opts.args ?? [])], {
    serviceName: `Plumage ${opts.name}`,
    stdio: ['ignore', opts.quietStdout ? 'ignore' : 'inherit', 'pipe'],
  });
  forwardStderr(child.stderr, opts.name); // without Dawn's native chatter
  child.once('spawn', () => lowerPriority(child.pid, opts.nice));
  // A fatal V8 error in the child: its exit follows, which fails what it was asked; unheard, the
  // 'error' event would throw in the app's main process.
  child.on('error', () => {});
  let exit: { code: number | null } | null = null;
  child.once('exit', (code) => (exit = { code }));
  return {
    get pid() {
      return child.pid;
    },
    get running() {
      return exit === null;
    },
    post: (m) => {
      if (exit === null) child.postMessage(m);
    },
    onMessage: (h) => child.on('message', h),
    onClose: (h) => child.once('exit', (code) => h(`exit code ${code}`)),
    end: () => {
      if (exit === null) child.kill();
    },
    // utilityProcess.kill() sends SIGTERM; a hung child is ended with the signal asked for (SIGKILL).
    kill: (signal) => {
      if (signal && child.pid !== undefined && exit === null) process.kill(child.pid, signal);
      else if (exit === null) child.kill();
    },
    onExit: (h) => {
      if (exit) h(exit.code, null);
      else child.once('exit', (code) => h(code, null));
    },
  };
};
