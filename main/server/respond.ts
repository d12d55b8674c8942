/** Plain replies and files for the headless server: every file streamed from one open handle. */
import { open, realpath } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { isInside } from '../core/dataset/scan.js';

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

export function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * Streams `file` if its real path lies under `root` (already real) and it is a file; 404 otherwise.
 * `headers` add to (or replace) the type and caching ones.
 */
export async function sendFile(
  res: ServerResponse,
  root: string,
  file: string,
  cache: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const real = await realpath(file).catch(() => null);
  if (!real || !isInside(root, real)) return send(res, 404, 'not found');
  // Open first, then stat and stream that same handle: a file deleted or replaced after the
  // check can no longer fail the stream (nor, unhandled, the process).
  const handle = await open(real, 'r').catch(() => null);
  if (!handle) return send(res, 404, 'not found');
  const st = await handle.stat().catch(() => null);
  if (!st?.isFile()) {
    await handle.close().catch(() => {});
    return send(res, 404, 'not found');
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
    'content-length': st.size,
    'cache-control': cache,
    ...headers,
  });
  const stream = handle.createReadStream({ end: Math.max(0, st.size - 1) });
  stream.on('error', () => res.destroy()); // a read error mid-body: cut this response only
  if (st.size === 0) {
    stream.destroy();
    res.end();
    return;
  }
  stream.pipe(res);
}
