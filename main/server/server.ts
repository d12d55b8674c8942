import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { extname, join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  EVENT_CHANNELS,
  REQUEST_CHANNELS,
  type ClientFrame,
  type RequestName,
  type ServerFrame,
} from '../../preload/contract.js';
import { CSP, isMediaKey, toApiError } from '../core/api/security.js';
import type { Studio } from '../core/studio.js';
import { isInside } from '../core/dataset/scan.js';

export interface ServeOptions {
  port: number;
  /** Built renderer (index.html and assets). */
  rendererDir: string;
  /** Fixed token (tests); a fresh random one otherwise. */
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * The headless shell: serves the built renderer and the contract over WebSocket on 127.0.0.1.
 * Every request and socket needs the token (query `?token=`, then an HttpOnly same-site cookie
 * so the page's own assets and socket carry it); the Host and Origin headers must name this
 * server, so a web page elsewhere cannot reach it through DNS rebinding.
 */
export async function startServer(studio: Studio, opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  let port = opts.port;
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];

  const tokenOf = (req: IncomingMessage): string | null => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams.get('token');
    if (q) return q;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return auth.slice(7);
    const cookie = /(?:^|;\s*)plumage_token=([^;]+)/.exec(req.headers.cookie ?? '');
    return cookie ? decodeURIComponent(cookie[1]!) : null;
  };
  const authorised = (req: IncomingMessage): boolean => {
    if (!allowedHosts().includes(req.headers.host ?? '')) return false;
    const given = Buffer.from(tokenOf(req) ?? '');
    return given.length === tokenBytes.length && timingSafeEqual(given, tokenBytes);
  };

  const rendererReal = await realpath(opts.rendererDir);
  const homeReal = await realpath(studio.home);

  const send = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  };
  const sendFile = async (res: ServerResponse, root: string, file: string, cache: string): Promise<void> => {
    const real = await realpath(file).catch(() => null);
    if (!real || !isInside(root, real)) return send(res, 404, 'not found');
    const st = await stat(real).catch(() => null);
    if (!st?.isFile()) return send(res, 404, 'not found');
    res.writeHead(200, {
      'content-type': TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': cache,
    });
    createReadStream(real).pipe(res);
  };

  const http = createServer((req, res) => {
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    if (!authorised(req))
      return send(res, 401, 'Plumage: open the URL with its ?token=… as printed by `npm run serve`.');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    res.setHeader('set-cookie', `plumage_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path.startsWith('/media/')) {
      const key = path.slice('/media/'.length);
      if (!isMediaKey(key)) return send(res, 404, 'not found');
      void sendFile(res, homeReal, join(homeReal, key), 'private, max-age=3600');
      return;
    }
    const file = path === '/' ? 'index.html' : path.slice(1);
    void sendFile(
      res,
      rendererReal,
      join(rendererReal, file),
      file === 'index.html' ? 'no-store' : 'private, max-age=300',
    );
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  http.on('upgrade', (req, socket, head) => {
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || allowedHosts().some((h) => origin === `http://${h}`);
    if (!authorised(req) || !sameOrigin || new URL(req.url ?? '/', 'http://x').pathname !== '/api') {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const sendFrame = (ws: WebSocket, frame: ServerFrame): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  wss.on('connection', (ws) => {
    ws.on('message', async (data) => {
      let frame: ClientFrame;
      try {
        frame = JSON.parse(String(data)) as ClientFrame;
        if (typeof frame.id !== 'number') throw new Error('frame without id');
      } catch {
        ws.close(1003, 'bad frame');
        return;
      }
      try {
        if (!REQUEST_CHANNELS.includes(frame.method as RequestName)) {
          throw Object.assign(new Error(`unknown request ${JSON.stringify(frame.method)}`), { code: 'invalid-input' });
        }
        const result =
          frame.method === 'pickFolder' ? await studio.pickFolder() : await studio.handle(frame.method, frame.params);
        sendFrame(ws, { id: frame.id, ok: true, result });
      } catch (err) {
        sendFrame(ws, { id: frame.id, ok: false, error: toApiError(err) });
      }
    });
  });
  const unsubscribers = EVENT_CHANNELS.map((event) => {
    const listener = (payload: unknown): void => {
      const text = JSON.stringify({ event, payload } satisfies ServerFrame);
      for (const ws of wss.clients) if (ws.readyState === ws.OPEN) ws.send(text);
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
    close: async () => {
      for (const u of unsubscribers) u();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
