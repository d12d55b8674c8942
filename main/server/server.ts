import { realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { EVENT_CHANNELS, type ServerFrame } from '../../preload/contract.js';
import { handleRequest, parseClientFrame } from '../core/api/handler.js';
import { CSP, isMediaKey } from '../core/api/security.js';
import type { Studio } from '../core/studio.js';
import { serveExport, serveExportZip } from './downloads.js';
import { send, sendFile } from './respond.js';

export interface ServeOptions {
  port: number;
  /** Built renderer (index.html and assets). */
  rendererDir: string;
  /** The token pages must present (`serve` keeps one per home); a fresh random one otherwise. */
  token?: string;
  /** Bytes of replies and events one socket may have queued unsent before it is dropped. */
  maxQueuedBytes?: number;
}

/**
 * A client that stops reading (a frozen tab, a hostile script) would make the server queue its
 * replies without bound (measured: 110 → 471 MB for 2,000 requests). Past this it is dropped;
 * the page reconnects. The largest reply (a 1,000-item source page) is well under it.
 */
export const MAX_QUEUED_BYTES = 8 << 20;
/** Requests one socket may have in flight; past this the server stops reading from it until some finish. */
const MAX_IN_FLIGHT = 32;

/** A request the server cannot even parse (bad URL, bad percent-encoding): 400, never a throw. */
class BadRequest extends Error {}

/** Parses the request target; throws BadRequest for what `new URL` refuses (`//[x`). */
function targetOf(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://x');
  } catch {
    throw new BadRequest('malformed request target');
  }
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BadRequest('malformed percent-encoding');
  }
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  /** The cookie that carries the token for this server's pages (tokenCookieName). */
  cookieName: string;
  close(): Promise<void>;
}

/** Route of one exported file (`/exports/KEY`) and of a batch of them as a zip (POST). */
export const EXPORT_ROUTE = '/exports/';
export const EXPORT_ZIP_ROUTE = '/exports.zip';

/**
 * The name of the cookie that carries `token`. Cookies do not tell ports apart, so a fixed name
 * let two servers on 127.0.0.1 (two homes) overwrite each other's cookie; named after a hash of
 * the token, each server's cookie is its own.
 */
export const tokenCookieName = (token: string): string =>
  `plumage_${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;

/**
 * The values of every cookie called `name` in a Cookie header. Any localhost page may set a
 * cookie of the same name with another Path, which the browser sends first: each one counts.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== name) continue;
    try {
      values.push(decodeURIComponent(pair.slice(at + 1).trim()));
    } catch {
      // A malformed value is someone else's cookie: skipped, never a failed request.
    }
  }
  return values;
}

/**
 * The headless shell: serves the built renderer and the contract over WebSocket on 127.0.0.1.
 * Every request and socket needs the token (query `?token=`, then an HttpOnly same-site cookie
 * so the page's own assets and socket carry it); the Host and Origin headers must name this
 * server, so a web page elsewhere cannot reach it through DNS rebinding.
 */
export async function startServer(studio: Studio, opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const cookieName = tokenCookieName(token);
  let port = opts.port;
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];
  const sameOrigin = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    return origin === undefined || allowedHosts().some((h) => origin === `http://${h}`);
  };

  /** Every token the request offers: the query's, a bearer header's, each cookie of this server's name. */
  const tokensOf = (req: IncomingMessage): string[] => {
    const offered = cookieValues(req.headers.cookie, cookieName);
    const q = targetOf(req).searchParams.get('token');
    if (q) offered.unshift(q);
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) offered.unshift(auth.slice(7));
    return offered;
  };
  const authorised = (req: IncomingMessage): boolean => {
    if (!allowedHosts().includes(req.headers.host ?? '')) return false;
    return tokensOf(req).some((t) => {
      const given = Buffer.from(t);
      return given.length === tokenBytes.length && timingSafeEqual(given, tokenBytes);
    });
  };

  const rendererReal = await realpath(opts.rendererDir);
  const homeReal = await realpath(studio.home);
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    if (!authorised(req))
      return send(res, 401, 'Plumage: open the URL with its ?token=… as printed by `npm run serve`.');
    const path = decode(targetOf(req).pathname);
    // The one thing a page posts: which exports to zip. Only from this server's own pages.
    if (req.method === 'POST' && path === EXPORT_ZIP_ROUTE) {
      if (!sameOrigin(req)) return send(res, 403, 'a batch download is asked for by the Plumage page itself');
      serveExportZip(req, res, studio.home).catch(() => res.destroy());
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    res.setHeader('set-cookie', `${cookieName}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
    if (path.startsWith(EXPORT_ROUTE)) {
      serveExport(res, studio.home, path.slice(EXPORT_ROUTE.length)).catch(() => res.destroy());
      return;
    }
    if (path.startsWith('/media/')) {
      const key = path.slice('/media/'.length);
      if (!isMediaKey(key)) return send(res, 404, 'not found');
      sendFile(res, homeReal, join(homeReal, key), 'private, max-age=3600').catch(() => res.destroy());
      return;
    }
    const file = path === '/' ? 'index.html' : path.slice(1);
    sendFile(
      res,
      rendererReal,
      join(rendererReal, file),
      file === 'index.html' ? 'no-store' : 'private, max-age=300',
    ).catch(() => res.destroy());
  };
  const http = createServer((req, res) => {
    try {
      serve(req, res);
    } catch (err) {
      if (!(err instanceof BadRequest)) console.error('plumage serve:', err);
      if (!res.headersSent)
        send(res, err instanceof BadRequest ? 400 : 500, err instanceof BadRequest ? err.message : 'error');
      else res.destroy();
    }
  });
  // A connection-level error (a reset mid-request, a parse error) concerns that connection only.
  http.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  http.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy()); // a reset during the handshake ends this socket only
    let allowed = false;
    let target: URL | null = null;
    try {
      target = targetOf(req);
      allowed = authorised(req) && sameOrigin(req) && target.pathname === '/api';
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!allowed) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const maxQueued = opts.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  /** Sends, or drops a client whose unsent queue is over the bound (it stopped reading). */
  const sendText = (ws: WebSocket, text: string): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount + text.length > maxQueued) {
      ws.terminate();
      return;
    }
    ws.send(text);
  };
  wss.on('connection', (ws) => {
    // ws reports protocol errors (oversized or unmasked frames, invalid UTF-8, bad opcodes or
    // close codes) as 'error' on the socket, then closes it with the right code. Without a
    // listener that 'error' is an uncaught exception that ends the whole server.
    ws.on('error', () => ws.terminate());
    let inFlight = 0;
    const answer = async (data: WebSocket.RawData, isBinary: boolean): Promise<void> => {
      const frame = isBinary ? null : parseClientFrame(String(data));
      if (!frame) {
        ws.close(1003, 'bad frame');
        return;
      }
      // A client that sends faster than the core answers waits at the socket, not in memory.
      if (++inFlight >= MAX_IN_FLIGHT) ws.pause();
      const reply = await handleRequest(studio, frame.method, frame.params);
      if (--inFlight < MAX_IN_FLIGHT && ws.isPaused) ws.resume();
      let text: string;
      try {
        text = JSON.stringify({ id: frame.id, ...reply } satisfies ServerFrame);
      } catch (err) {
        text = JSON.stringify({ id: frame.id, ok: false, error: { code: 'failed', message: String(err) } });
      }
      sendText(ws, text);
    };
    // handleRequest answers every failure as a reply; anything else ends this socket (the page
    // reconnects), never the server.
    ws.on('message', (data, isBinary) => void answer(data, isBinary).catch(() => ws.terminate()));
  });
  wss.on('error', () => {}); // errors of individual sockets are handled on the sockets
  const unsubscribers = EVENT_CHANNELS.map((event) => {
    const listener = (payload: unknown): void => {
      const text = JSON.stringify({ event, payload } satisfies ServerFrame);
      for (const ws of wss.clients) sendText(ws, text);
    };
    studio.on(event, listener);
    return () => studio.off(event, listener);
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, '127.0.0.1', () => resolve());
  });
  port = (http.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    cookieName,
    close: async () => {
      for (const u of unsubscribers) u();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
