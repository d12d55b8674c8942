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
  constructor(
    readonly error: ApiError,
    /** The request that failed. */
    readonly request?: RequestName,
  ) {
    super(error.message);
  }
}

/** Reconnect delays after the server goes away: quick at first, then every few seconds. */
export const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 4000];

/**
 * What the page must be honest about beyond each view's own state: whether the core is
 * reachable, and requests that failed (a read that fails must never look like an empty view).
 */
export class ClientStatus {
  connected = true;
  /** When the connection was lost (ms since the epoch); null while connected. */
  lostAt: number | null = null;
  readonly #listeners = new Set<() => void>();
  readonly #failures = new Set<(err: PlumageError) => void>();

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  onFailure(listener: (err: PlumageError) => void): () => void {
    this.#failures.add(listener);
    return () => void this.#failures.delete(listener);
  }

  setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.lostAt = connected ? null : Date.now();
    for (const l of this.#listeners) l();
  }

  fail(err: PlumageError): void {
    for (const l of this.#failures) l(err);
  }
}

type Invoke = (name: RequestName, params: unknown) => Promise<unknown>;
type Subscribe = (event: EventName, listener: (payload: unknown) => void) => () => void;

/** Requests that fill a view: when one fails the view has nothing true to show, so the failure is reported. */
const isRead = (name: RequestName): boolean => name.startsWith('get') || name.startsWith('list');

/** What each shell does with the files exports wrote: download them (the server) or not (the desktop reveals them). */
interface Downloads {
  fileAccess: 'download' | 'reveal';
  downloadUrl: (key: string) => string | null;
  downloadZip: (keys: string[], fileName: string) => Promise<void>;
}

function build(
  invoke: Invoke,
  subscribe: Subscribe,
  mediaUrl: (key: string) => string,
  downloads: Downloads,
  status: ClientStatus,
) {
  const api = { mediaUrl, on: subscribe, ...downloads } as Record<string, unknown>;
  for (const name of REQUEST_CHANNELS) {
    api[name] = (params?: unknown) =>
      invoke(name, params).catch((err: unknown) => {
        const failure =
          err instanceof PlumageError ? err : new PlumageError({ code: 'failed', message: String(err) }, name);
        // While disconnected the banner already says so; these failures are that, not news.
        if (isRead(name) && status.connected) status.fail(failure);
        throw failure;
      });
  }
  return api as unknown as PlumageApi;
}

/** Electron: the preload's bridge. */
function ipcApi(bridge: PreloadBridge, status: ClientStatus): PlumageApi {
  return build(
    async (name, params) => {
      const reply = await bridge.invoke(name, params);
      if (!reply.ok) throw new PlumageError(reply.error, name);
      return reply.result;
    },
    (event, listener) => bridge.on(event, listener),
    (key) => `${bridge.mediaScheme}://media/${key}`,
    {
      fileAccess: 'reveal',
      downloadUrl: () => null,
      downloadZip: () =>
        Promise.reject(
          new PlumageError({ code: 'unsupported', message: 'the desktop app shows files, not downloads' }),
        ),
    },
    status,
  );
}

/**
 * Downloads from the headless server: a link per file (`exports/KEY`), and a batch as a zip the
 * server streams, saved through the browser's downloads. The token rides in the cookie, and in
 * the query when the page has one (as the socket's does).
 */
function serverDownloads(token: string | null): Downloads {
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return {
    fileAccess: 'download',
    downloadUrl: (key) => `exports/${key.split('/').map(encodeURIComponent).join('/')}${query}`,
    downloadZip: async (keys, fileName) => {
      let res: Response;
      try {
        res = await fetch(`exports.zip${query}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ files: keys, name: fileName }),
        });
      } catch {
        throw new PlumageError({ code: 'disconnected', message: 'the Plumage server cannot be reached' });
      }
      if (!res.ok) throw new PlumageError({ code: 'failed', message: `download refused: ${await res.text()}` });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(await res.blob());
      a.download = fileName;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    },
  };
}

/**
 * Browser: the headless server's WebSocket. The token rides in the cookie the page was served
 * with, so after the server restarts (same home, same token) the socket reconnects by itself,
 * with backoff; event listeners stay subscribed across reconnects. While it is down, a request
 * fails at once rather than waiting for a socket that may never come back.
 */
async function socketApi(status: ClientStatus): Promise<PlumageApi> {
  const token = new URLSearchParams(location.search).get('token');
  const url = new URL('api', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = token ? `?token=${encodeURIComponent(token)}` : '';
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; name: RequestName }>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let attempt = 0;

  const onFrame = (m: MessageEvent): void => {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(m.data)) as ServerFrame;
    } catch {
      return;
    }
    if ('event' in frame) {
      dispatch(frame.event, frame.payload);
      return;
    }
    const p = pending.get(frame.id);
    pending.delete(frame.id);
    if (frame.ok) p?.resolve(frame.result);
    else p?.reject(new PlumageError(frame.error, p.name));
  };

  /** Opens one socket; resolves true once open, false if it closed first. */
  const open = (): Promise<boolean> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url);
      let opened = false;
      ws.onopen = () => {
        opened = true;
        socket = ws;
        attempt = 0;
        status.setConnected(true);
        resolve(true);
      };
      ws.onmessage = onFrame;
      ws.onclose = () => {
        if (!opened) return resolve(false);
        socket = null;
        status.setConnected(false);
        const lost = new PlumageError({ code: 'disconnected', message: 'the connection to the Plumage server closed' });
        for (const p of pending.values()) p.reject(new PlumageError(lost.error, p.name));
        pending.clear();
        void reconnect();
      };
    });

  const dispatch = (event: EventName, payload: unknown): void => {
    for (const l of listeners.get(event) ?? []) l(payload);
  };
  /** Asks the server one thing directly (used before the public API exists, and on reconnect). */
  const request = (name: RequestName, params?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        const message = 'not connected to the Plumage server (reconnecting…)';
        reject(new PlumageError({ code: 'disconnected', message }, name));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject, name });
      socket.send(JSON.stringify({ id, method: name, params } satisfies ClientFrame));
    });

  const reconnect = async (): Promise<void> => {
    for (;;) {
      const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)]!;
      attempt++;
      await new Promise((r) => setTimeout(r, delay));
      if (await open()) break;
    }
    // Events sent while the socket was down are lost: tell the views what every dataset and run
    // is now, through the same events they already follow, so nothing shows a stale state.
    try {
      const [datasets, runs] = await Promise.all([request('listDatasets'), request('listRuns')]);
      for (const d of datasets as unknown[]) dispatch('datasetChanged', d);
      for (const r of runs as unknown[]) dispatch('runChanged', r);
    } catch {
      // Lost again already: the next reconnect tries again.
    }
  };

  if (!(await open())) throw new Error('the Plumage server refused the connection (is the token right?)');

  return build(
    request,
    (event, listener) => {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => void set.delete(listener);
    },
    (key) => `media/${key}`,
    serverDownloads(token),
    status,
  );
}

export async function connectApi(): Promise<{ api: PlumageApi; status: ClientStatus }> {
  const bridge = (window as unknown as { plumage?: PreloadBridge }).plumage;
  const status = new ClientStatus();
  return { api: bridge ? ipcApi(bridge, status) : await socketApi(status), status };
}

export type { PlumageEvents };
