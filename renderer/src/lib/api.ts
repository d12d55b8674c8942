import {
  REQUEST_CHANNELS,
  type ApiError,
  type ClientFrame,
  type EventName,
  type PlumageApi,
  type PlumageEvents,
  type PreloadBridge,
  type RequestName,
  type ServerFrame,
} from '../../../preload/contract';

/** An error from the core, with the contract's code ('invalid-input', 'not-found', …). */
export class PlumageError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

type Invoke = (name: RequestName, params: unknown) => Promise<unknown>;
type Subscribe = (event: EventName, listener: (payload: unknown) => void) => () => void;

function build(invoke: Invoke, subscribe: Subscribe, mediaUrl: (key: string) => string): PlumageApi {
  const api = { mediaUrl, on: subscribe } as Record<string, unknown>;
  for (const name of REQUEST_CHANNELS) api[name] = (params?: unknown) => invoke(name, params);
  return api as unknown as PlumageApi;
}

/** Electron: the preload's bridge. */
function ipcApi(bridge: PreloadBridge): PlumageApi {
  return build(
    async (name, params) => {
      const reply = await bridge.invoke(name, params);
      if (!reply.ok) throw new PlumageError(reply.error);
      return reply.result;
    },
    (event, listener) => bridge.on(event, listener),
    (key) => `${bridge.mediaScheme}://media/${key}`,
  );
}

/** Browser: the headless server's WebSocket (the token rides in the cookie the page was served with). */
async function socketApi(): Promise<PlumageApi> {
  const token = new URLSearchParams(location.search).get('token');
  const url = new URL('api', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = token ? `?token=${encodeURIComponent(token)}` : '';
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let socket: WebSocket;

  const connect = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => {
        socket = ws;
        resolve();
      };
      ws.onerror = () => reject(new Error('the Plumage server refused the connection (is the token right?)'));
      ws.onmessage = (m) => {
        const frame = JSON.parse(String(m.data)) as ServerFrame;
        if ('event' in frame) {
          for (const l of listeners.get(frame.event) ?? []) l(frame.payload);
          return;
        }
        const p = pending.get(frame.id);
        pending.delete(frame.id);
        if (frame.ok) p?.resolve(frame.result);
        else p?.reject(new PlumageError(frame.error));
      };
      ws.onclose = () => {
        for (const p of pending.values()) p.reject(new Error('connection to the Plumage server closed'));
        pending.clear();
      };
    });
  await connect();

  return build(
    (method, params) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params } satisfies ClientFrame));
      }),
    (event, listener) => {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => void set.delete(listener);
    },
    (key) => `media/${key}`,
  );
}

export async function connectApi(): Promise<PlumageApi> {
  const bridge = (window as unknown as { plumage?: PreloadBridge }).plumage;
  return bridge ? ipcApi(bridge) : socketApi();
}

export type { PlumageEvents };
