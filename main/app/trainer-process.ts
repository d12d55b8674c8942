/**
 * Under Electron the trainer runs in a utilityProcess (a Node child managed by Electron: it
 * ends with the app, and keeps GPU work out of the main process). Same TrainerProcess shape
 * as the headless fork, so the supervisor does not know the difference.
 *
 * utilityProcess has no `detached` option, so the child stays in the app's process group: a
 * terminal's Ctrl-C reaches it too. The trainer ignores SIGINT for that reason (only its
 * supervisor ends it, with a pause that writes a checkpoint); the app quits on SIGINT and
 * pauses every run on the way out.
 */
import { utilityProcess } from 'electron';
import type { SpawnTrainer } from '../core/train/spawn-trainer.js';
import type { TrainerMessage } from '../core/train/protocol.js';
import { forwardStderr } from '../core/util/child-stderr.js';

export const spawnUtilityTrainer: SpawnTrainer = (script) => {
  const child = utilityProcess.fork(script, [], {
    serviceName: 'Plumage trainer',
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  forwardStderr(child.stderr, 'trainer'); // without Dawn's native chatter
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => {
      if (!exited) child.postMessage(m);
    },
    onMessage: (h) => child.on('message', (m: unknown) => h(m as TrainerMessage)),
    onExit: (h) => child.on('exit', (code) => h(code, null)),
    // utilityProcess.kill() sends SIGTERM; a hung trainer is ended with the signal asked for (SIGKILL).
    kill: (signal) => {
      if (signal && child.pid !== undefined && !exited) process.kill(child.pid, signal);
      else child.kill();
    },
  };
};
