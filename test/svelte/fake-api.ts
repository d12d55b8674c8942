import type { EventName, PlumageApi, PlumageEvents, RequestName } from '../../preload/contract';

type Handlers = { [K in RequestName]?: PlumageApi[K] };

/**
 * A PlumageApi in memory for the renderer's state classes: each request is answered by the
 * handler a test gives (any other request fails the test loudly), every call is recorded, and
 * `emit` sends an event as the core would.
 */
export function fakeApi(handlers: Handlers = {}) {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const calls: { name: RequestName; params: unknown }[] = [];
  const api = new Proxy({} as PlumageApi, {
    get(_target, key: string) {
      if (key === 'on')
        return (event: EventName, listener: (payload: unknown) => void) => {
          const set = listeners.get(event) ?? new Set();
          set.add(listener);
          listeners.set(event, set);
          return () => set.delete(listener);
        };
      if (key === 'mediaUrl') return (k: string) => `media/${k}`;
      if (key === 'then') return undefined; // not a thenable
      return (params?: unknown) => {
        calls.push({ name: key as RequestName, params });
        const handler = handlers[key as RequestName] as ((p: unknown) => Promise<unknown>) | undefined;
        return handler ? handler(params) : Promise.reject(new Error(`unexpected request ${key}`));
      };
    },
  });
  return {
    api,
    calls,
    /** Requests of one name, in order. */
    called: (name: RequestName) => calls.filter((c) => c.name === name).map((c) => c.params),
    emit<E extends EventName>(event: E, payload: PlumageEvents[E]): void {
      for (const l of listeners.get(event) ?? []) l(payload);
    },
    listening: (event: EventName) => listeners.get(event)?.size ?? 0,
  };
}

/** A promise and the functions that settle it, for replies a test holds back. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run. */
export const flushPromises = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
