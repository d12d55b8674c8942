/**
 * The one way the studio talks to its children (processes and threads): typed requests with
 * replies, progress events, errors that keep their class and code, cancel, a timeout per
 * request, and the child's end failing every request still waiting. Both sides import this; a
 * protocol is a type (request name → params and result, event name → payload), so no call site
 * casts. It speaks over a Transport (transport.ts), whatever carries the messages.
 *
 * Cancel is a request to the child, not a verdict: the handler sees its signal abort and
 * answers (with what it finished, or an error), and that answer settles the request. Events
 * that arrive after the cancel are dropped. A timeout does settle at once (the child is told
 * to cancel too).
 */
import type { Movable, Transport } from './transport.js';

/** Request name → its params and result; event name → its payload. */
export interface Protocol {
  requests: Record<string, { params: unknown; result: unknown }>;
  events: Record<string, unknown>;
}
export type RequestName<P extends Protocol> = keyof P['requests'] & string;
export type Params<P extends Protocol, K extends RequestName<P>> = P['requests'][K]['params'];
export type Result<P extends Protocol, K extends RequestName<P>> = P['requests'][K]['result'];
export type EventHandlers<P extends Protocol> = { [E in keyof P['events']]?: (payload: P['events'][E]) => void };

/** An error as it crosses: its class's name (to rebuild it), its name, message and code. */
export interface WireError {
  type: string;
  name: string;
  message: string;
  code?: string;
}

type Envelope =
  | { rpc: 'request'; id: number; name: string; params: unknown }
  | { rpc: 'cancel'; id: number }
  | { rpc: 'result'; id: number; result: unknown }
  | { rpc: 'error'; id: number; error: WireError }
  | { rpc: 'event'; id: number; name: string; payload: unknown };

/** Every request still waiting when the child ended fails with this (code 'child-ended'). */
export class ChildEndedError extends Error {
  readonly code = 'child-ended';
}
/** A request that had no answer in its time (code 'timeout'). */
export class RequestTimeoutError extends Error {
  readonly code = 'timeout';
}

export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { type: 'Error', name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    type: err.constructor.name,
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
  };
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The error again on this side: an instance of the class it was thrown as where that class is
 * one of `known` (so `instanceof` holds; its constructor is not run), else an Error; with its
 * name and code either way.
 */
export function fromWire(w: WireError, known: readonly ErrorClass[] = []): Error {
  const cls = known.find((c) => c.name === w.type);
  const err = Reflect.construct(Error, [w.message], cls ?? Error) as Error;
  if (err.name !== w.name) Object.defineProperty(err, 'name', { value: w.name, configurable: true, writable: true });
  if (w.code !== undefined) Object.defineProperty(err, 'code', { value: w.code, enumerable: true, writable: true });
  return err;
}

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null;
/** A message from the other side, or null for anything that is not one (ignored, never thrown on). */
function envelope(m: unknown): Envelope | null {
  if (!isObject(m) || typeof m.rpc !== 'string' || !Number.isSafeInteger(m.id)) return null;
  switch (m.rpc) {
    case 'request':
    case 'event':
      return typeof m.name === 'string' ? (m as Envelope) : null;
    case 'error':
      return isObject(m.error) && typeof m.error.message === 'string' ? (m as Envelope) : null;
    case 'cancel':
    case 'result':
      return m as Envelope;
    default:
      return null;
  }
}

export interface RequestOptions<P extends Protocol> {
  /** Asks the child to stop this request; its answer still settles it. */
  signal?: AbortSignal;
  /** Milliseconds to wait for the answer before failing with RequestTimeoutError. */
  timeoutMs?: number;
  /** This request's progress events. */
  on?: EventHandlers<P>;
  /** Events after a cancel are dropped (the UI has moved on), unless kept (an export records what it still wrote). */
  afterCancel?: 'drop' | 'keep';
  /** Buffers moved, not copied, to a worker thread. */
  transfer?: readonly Movable[];
}

interface Waiting {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  on: Record<string, ((payload: unknown) => void) | undefined>;
  timer: NodeJS.Timeout | undefined;
  done: () => void;
}

export interface ClientOptions {
  /** The child in words, for the error when it ends: "generator process" → "the generator process ended (…)". */
  name: string;
  /** Error classes the child may throw that should arrive as themselves. */
  errors?: readonly ErrorClass[];
}

/** The parent's side: sends requests, settles each with its reply. */
export class RpcClient<P extends Protocol> {
  readonly #transport: Transport;
  readonly #opts: ClientOptions;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #ended: Error | null = null;
  /** Messages that were not replies of this protocol (ignored). */
  garbled = 0;

  constructor(transport: Transport, opts: ClientOptions) {
    this.#transport = transport;
    this.#opts = opts;
    transport.onMessage((m) => this.#onMessage(m));
    transport.onClose((reason) => this.fail(new ChildEndedError(`the ${opts.name} ended (${reason})`)));
  }

  get pending(): number {
    return this.#waiting.size;
  }

  /** Why the channel is closed, or null while it is open. */
  get ended(): Error | null {
    return this.#ended;
  }

  request<K extends RequestName<P>>(
    name: K,
    params: Params<P, K>,
    opts: RequestOptions<P> = {},
  ): Promise<Result<P, K>> {
    if (this.#ended) return Promise.reject(this.#ended);
    const id = this.#nextId++;
    return new Promise<Result<P, K>>((resolve, reject) => {
      const { signal } = opts;
      const onAbort = (): void => {
        if (opts.afterCancel !== 'keep') w.on = {};
        this.#post({ rpc: 'cancel', id });
      };
      const w: Waiting = {
        resolve: resolve as (r: unknown) => void,
        reject,
        on: { ...(opts.on as Waiting['on']) },
        timer: undefined,
        done: () => {
          this.#waiting.delete(id);
          clearTimeout(w.timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      this.#waiting.set(id, w);
      if (opts.timeoutMs !== undefined)
        w.timer = setTimeout(() => {
          w.done();
          this.#post({ rpc: 'cancel', id });
          reject(new RequestTimeoutError(`the ${this.#opts.name} did not answer ${name} in ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
      try {
        this.#transport.post({ rpc: 'request', id, name, params } satisfies Envelope, opts.transfer);
      } catch (err) {
        w.done();
        reject(err as Error);
        return;
      }
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Fails every request still waiting, and every later one, with `err` (the child is gone). */
  fail(err: Error): void {
    this.#ended ??= err;
    for (const w of [...this.#waiting.values()]) {
      w.done();
      w.reject(err);
    }
  }

  #post(m: Envelope): void {
    try {
      this.#transport.post(m);
    } catch {
      // A cancel to a child already gone: its end fails the request.
    }
  }

  #onMessage(m: unknown): void {
    const e = envelope(m);
    const w = e && this.#waiting.get(e.id);
    if (!e || !w) {
      this.garbled++; // not ours, or a late reply to a request already settled: dropped
      return;
    }
    if (e.rpc === 'event') return w.on[e.name]?.(e.payload);
    if (e.rpc !== 'result' && e.rpc !== 'error') return void this.garbled++;
    w.done();
    if (e.rpc === 'result') w.resolve(e.result);
    else w.reject(fromWire(e.error, this.#opts.errors));
  }
}

/** What a handler gets beside its params. */
export interface RequestContext<P extends Protocol> {
  readonly id: number;
  /** Aborts when the parent cancels this request (or it timed out there). */
  readonly signal: AbortSignal;
  emit<E extends keyof P['events'] & string>(name: E, payload: P['events'][E], transfer?: readonly Movable[]): void;
  /** Buffers to move with the result (worker threads). */
  transfer(list: readonly Movable[]): void;
}

export type Handlers<P extends Protocol> = {
  [K in RequestName<P>]: (params: Params<P, K>, ctx: RequestContext<P>) => Promise<Result<P, K>> | Result<P, K>;
};

/**
 * The child's side: answers each request with its handler (concurrently; a handler that must run
 * alone queues itself), and aborts every handler's signal when the parent is gone. A handler's
 * error goes back as a WireError; a result that cannot be sent (not serialisable) goes back as an
 * error instead; a message that is not a request is ignored.
 */
export function serve<P extends Protocol>(transport: Transport, handlers: Handlers<P>): void {
  const running = new Map<number, AbortController>();
  const post = (m: Envelope, transfer?: readonly Movable[]): void => {
    try {
      transport.post(m, transfer);
    } catch (err) {
      // Not serialisable (a function, a symbol): the request fails rather than the child.
      // A channel gone meanwhile throws again: there is nobody left to tell.
      if (m.rpc === 'result')
        try {
          transport.post({ rpc: 'error', id: m.id, error: toWire(err) } satisfies Envelope);
        } catch {
          /* the parent is gone */
        }
    }
  };
  // The parent gone, nobody waits for the answers: every handler is told to stop.
  transport.onClose(() => {
    for (const abort of running.values()) abort.abort();
  });
  transport.onMessage((m) => {
    const e = envelope(m);
    if (!e) return;
    if (e.rpc === 'cancel') return running.get(e.id)?.abort();
    if (e.rpc !== 'request') return;
    const handler = Object.hasOwn(handlers, e.name) ? handlers[e.name as RequestName<P>] : undefined;
    if (!handler) {
      const error = { type: 'Error', name: 'Error', message: `no such request: ${e.name}`, code: 'unknown-request' };
      return post({ rpc: 'error', id: e.id, error });
    }
    const abort = new AbortController();
    running.set(e.id, abort);
    let transfer: readonly Movable[] = [];
    const ctx: RequestContext<P> = {
      id: e.id,
      signal: abort.signal,
      emit: (name, payload, list) => post({ rpc: 'event', id: e.id, name, payload }, list),
      transfer: (list) => (transfer = list),
    };
    void (async () => {
      try {
        const result = await handler(e.params as never, ctx);
        post({ rpc: 'result', id: e.id, result }, transfer);
      } catch (err) {
        post({ rpc: 'error', id: e.id, error: toWire(err) });
      } finally {
        running.delete(e.id);
      }
    })();
  });
}
