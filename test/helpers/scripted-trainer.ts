import { serve, type Params, type RequestContext, type RequestName } from '../../main/core/util/child-rpc.js';
import type { ChildHandle, SpawnChild } from '../../main/core/util/spawn-child.js';
import type { Transport } from '../../main/core/util/transport.js';
import type { TrainEnd, TrainerMessage, TrainerProtocol } from '../../main/core/train/protocol.js';

/** A request the supervisor sent a trainer: its name and params. */
export type TrainerRequest = {
  [K in RequestName<TrainerProtocol>]: { name: K; params: Params<TrainerProtocol, K> };
}[RequestName<TrainerProtocol>];

/** How a scripted trainer answers each request the supervisor sends it (`train` included). */
export type TrainerScript = (trainer: ScriptedTrainer, request: TrainerRequest) => void;

/**
 * One end of a channel in memory: what is posted arrives at the other end by setImmediate, copied
 * as a real channel copies it (structured clone, so what could not cross throws here too), in the
 * order it was posted; closing it tells both ends, after everything posted before.
 */
class MemoryEnd implements Transport {
  other!: MemoryEnd;
  readonly #onMessage: ((m: unknown) => void)[] = [];
  readonly #onClose: ((reason: string) => void)[] = [];
  #closed = false;

  static pair(): [MemoryEnd, MemoryEnd] {
    const a = new MemoryEnd();
    const b = new MemoryEnd();
    a.other = b;
    b.other = a;
    return [a, b];
  }

  post(message: unknown): void {
    if (this.#closed) return;
    const copy = structuredClone(message);
    setImmediate(() => this.other.#onMessage.forEach((h) => h(copy)));
  }
  onMessage(handler: (m: unknown) => void): void {
    this.#onMessage.push(handler);
  }
  onClose(handler: (reason: string) => void): void {
    this.#onClose.push(handler);
  }
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = this.other.#closed = true;
    setImmediate(() => [...this.#onClose, ...this.other.#onClose].forEach((h) => h(reason)));
  }
}

const ENDINGS: ReadonlySet<TrainerMessage['type']> = new Set(['paused', 'stopped', 'done', 'failed', 'error']);

/**
 * A trainer process in memory, for the supervisor's rules without a process or tfjs: a child-rpc
 * endpoint (the trainer protocol's `serve`) over a channel in memory, answering as its script
 * says. Its events, its ending and its exit arrive later, in the order it made them and the exit
 * last, as a child's IPC messages and its 'close' do.
 */
export class ScriptedTrainer implements ChildHandle {
  readonly pid: number;
  /** Every request the supervisor sent, in order. */
  readonly received: TrainerRequest[] = [];
  /** Signals the supervisor sent with kill(). */
  readonly signals: string[] = [];
  #exit: { code: number | null; signal: string | null } | null = null;
  #stopped = false;
  readonly #onExit: ((code: number | null, signal: string | null) => void)[] = [];
  readonly #parent: MemoryEnd;
  readonly #child: MemoryEnd;
  /** The `train` request in hand: its events go out through ctx, its ending settles it. */
  #train: { ctx: RequestContext<TrainerProtocol>; end: (e: TrainEnd | null) => void } | null = null;

  constructor(pid: number, script: TrainerScript) {
    this.pid = pid;
    [this.#parent, this.#child] = MemoryEnd.pair();
    const answer = (request: TrainerRequest): void => {
      this.received.push(request);
      if (!this.#exit && !this.#stopped) script(this, request);
    };
    serve<TrainerProtocol>(this.#child, {
      train: (params, ctx) =>
        new Promise((end) => {
          this.#train = { ctx, end };
          answer({ name: 'train', params });
        }),
      pause: () => (answer({ name: 'pause', params: null }), null),
      stop: () => (answer({ name: 'stop', params: null }), null),
      snapshot: () => (answer({ name: 'snapshot', params: null }), null),
      slots: (params) => (answer({ name: 'slots', params }), null),
    });
  }

  get exited(): boolean {
    return this.#exit !== null;
  }
  get running(): boolean {
    return this.#exit === null;
  }

  // The supervisor's end of the channel.
  post(message: unknown): void {
    this.#parent.post(message);
  }
  onMessage(handler: (m: unknown) => void): void {
    this.#parent.onMessage(handler);
  }
  onClose(handler: (reason: string) => void): void {
    this.#parent.onClose(handler);
  }
  onExit(handler: (code: number | null, signal: string | null) => void): void {
    this.#onExit.push(handler);
  }
  end(): void {
    this.kill('SIGTERM');
  }
  /** SIGSTOP freezes it (it answers nothing more); any other signal ends it. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.signals.push(signal);
    if (signal === 'SIGSTOP') this.#stopped = true;
    else this.exit(null, signal);
  }

  /** Tells the supervisor `message`: an event of the `train` request, or (paused … error) its ending. */
  say(message: TrainerMessage): void {
    const train = this.#train;
    if (this.#exit || !train) return;
    if (ENDINGS.has(message.type)) return train.end(message as TrainEnd);
    const { type, ...payload } = message;
    train.ctx.emit(type as never, payload as never);
  }

  /**
   * Ends the process (once): its exit comes after every message it sent, its ending included
   * (the real trainer exits only once its answer has left), then its channel closes.
   */
  exit(code: number | null, signal: string | null = null): void {
    if (this.#exit) return;
    this.#exit = { code, signal };
    // Two turns: an ending said just before is posted once its handler's promise settles.
    setImmediate(() =>
      setImmediate(() => {
        this.#onExit.forEach((h) => h(code, signal));
        this.#parent.close(signal ?? `exit code ${code}`);
      }),
    );
  }
}

/**
 * A SpawnChild whose n-th trainer follows scripts[n] (the last one again for any later start);
 * `trainers` lists them all.
 */
export function scriptedSpawn(...scripts: TrainerScript[]): { spawn: SpawnChild; trainers: ScriptedTrainer[] } {
  const trainers: ScriptedTrainer[] = [];
  const spawn: SpawnChild = () => {
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
