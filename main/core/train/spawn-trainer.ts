/**
 * The seam between the supervisor and the trainer process it starts: the shape it sees a trainer
 * as, and the headless way to start one (Electron's shell provides its own, app/trainer-process.ts).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forwardStderr } from '../util/child-stderr.js';
import type { SupervisorMessage, TrainerMessage } from './protocol.js';

/** A trainer process as the supervisor sees it, whatever started it. */
export interface TrainerProcess {
  readonly pid: number | undefined;
  send(message: SupervisorMessage): void;
  onMessage(handler: (m: TrainerMessage) => void): void;
  /** code, or the signal that killed it */
  onExit(handler: (code: number | null, signal: string | null) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export type SpawnTrainer = (script: string) => TrainerProcess;

export const TRAINER_SCRIPT = fileURLToPath(new URL('./trainer.js', import.meta.url));

/**
 * Headless: a Node child process with an IPC channel (tfjs-node cannot run in worker threads).
 * `detached` puts it in a process group of its own, so a terminal's Ctrl-C (sent to the whole
 * foreground group) reaches only the supervisor, which pauses it with a checkpoint. Should the
 * supervisor die outright, the trainer sees its IPC channel close and exits.
 */
export const forkTrainer: SpawnTrainer = (script) => {
  const child = fork(script, [], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization: 'advanced',
    detached: true,
  });
  forwardStderr(child.stderr, 'trainer'); // without Dawn's native chatter
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (h) => child.on('message', (m) => h(m as TrainerMessage)),
    // 'close', not 'exit': it comes after the IPC channel has delivered every message, so the
    // crash's cause (sent just before the exit) is known when the exit is handled.
    onExit: (h) => child.on('close', (code, signal) => h(code, signal)),
    kill: (signal) => child.kill(signal),
  };
};
