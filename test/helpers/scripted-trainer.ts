import type { SpawnTrainer, TrainerProcess } from '../../main/core/train/spawn-trainer.js';
import type { SupervisorMessage, TrainerMessage } from '../../main/core/train/protocol.js';

/** How a scripted trainer answers each message the supervisor sends it (the start included). */
export type TrainerScript = (trainer: ScriptedTrainer, message: SupervisorMessage) => void;

/**
 * A trainer process in memory, for the supervisor's rules without a process or tfjs: it answers
 * as its script says. Its messages and its exit arrive later, in the order it sent them and the
 * exit last, as a child's IPC messages and its 'close' do.
 */
export class ScriptedTrainer implements TrainerProcess {
  readonly pid: number;
  /** Everything the supervisor sent, in order. */
  readonly received: SupervisorMessage[] = [];
  /** Signals the supervisor sent with kill(). */
  readonly signals: string[] = [];
  #exited = false;
  #stopped = false;
  #onMessage: ((m: TrainerMessage) => void) | null = null;
  #onExit: ((code: number | null, signal: string | null) => void) | null = null;
  readonly #script: TrainerScript;

  constructor(pid: number, script: TrainerScript) {
    this.pid = pid;
    this.#script = script;
  }

  get exited(): boolean {
    return this.#exited;
  }

  send(message: SupervisorMessage): void {
    if (this.#exited) return;
    this.received.push(message);
    setImmediate(() => {
      if (!this.#exited && !this.#stopped) this.#script(this, message);
    });
  }

  onMessage(handler: (m: TrainerMessage) => void): void {
    this.#onMessage = handler;
  }

  onExit(handler: (code: number | null, signal: string | null) => void): void {
    this.#onExit = handler;
  }

  /** SIGSTOP freezes it (it answers nothing more); any other signal ends it. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.signals.push(signal);
    if (signal === 'SIGSTOP') this.#stopped = true;
    else this.exit(null, signal);
  }

  /** Sends the supervisor a message. */
  say(message: TrainerMessage): void {
    if (this.#exited) return;
    setImmediate(() => this.#onMessage?.(message));
  }

  /** Ends the process (once): its 'close' comes after every message it sent. */
  exit(code: number | null, signal: string | null = null): void {
    if (this.#exited) return;
    this.#exited = true;
    setImmediate(() => this.#onExit?.(code, signal));
  }
}

/**
 * A SpawnTrainer whose n-th trainer follows scripts[n] (the last one again for any later start);
 * `trainers` lists them all.
 */
export function scriptedSpawn(...scripts: TrainerScript[]): { spawn: SpawnTrainer; trainers: ScriptedTrainer[] } {
  const trainers: ScriptedTrainer[] = [];
  const spawn: SpawnTrainer = () => {
    const trainer = new ScriptedTrainer(
      10_000 + trainers.length,
      scripts[Math.min(trainers.length, scripts.length - 1)]!,
    );
    trainers.push(trainer);
    return trainer;
  };
  return { spawn, trainers };
}

/** Lets every queued message and exit arrive (they travel by setImmediate). */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Waits until `check()` holds, for file work the supervisor started and does not await (it runs on
 * libuv's threads, so it takes real time however the clock is mocked): polls by setImmediate.
 */
export async function settleUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
