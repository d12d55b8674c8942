/**
 * Under Electron the trainer runs in a utilityProcess (a Node child managed by Electron: it
 * ends with the app, and keeps GPU work out of the main process). Same TrainerProcess shape
 * as the headless fork, so the supervisor does not know the difference.
 */
import { utilityProcess } from 'electron';
import type { SpawnTrainer } from '../core/train/supervisor.js';
import type { TrainerMessage } from '../core/train/protocol.js';

export const spawnUtilityTrainer: SpawnTrainer = (script) => {
  const child = utilityProcess.fork(script, [], { serviceName: 'Plumage trainer', stdio: 'inherit' });
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
    kill: () => void child.kill(),
  };
};
