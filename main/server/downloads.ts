/**
 * Downloads of what the exports wrote, for a page on another machine (`serve` over an SSH
 * tunnel): `GET /exports/KEY` sends one file, `POST /exports.zip` with `{"files": [KEY, …],
 * "name": "…"}` sends several as one zip, streamed as it is read (stored, not deflated again:
 * prints, PNGs and WebPs are compressed already), so memory stays flat whatever the batch.
 * Which files may go is the core's rule (core/api/downloads.ts): only under the home's exports/.
 */
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { Zip, ZipPassThrough } from 'fflate';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_FILES,
  MAX_BATCH_REQUEST_BYTES,
  attachmentHeader,
  batchZipName,
  exportContentType,
  exportFile,
} from '../core/api/downloads.js';
import { send, sendFile } from './respond.js';

/** Bytes read and sent at a time while zipping. */
const CHUNK = 1 << 20;

const shown = (key: string): string => JSON.stringify(key.length > 120 ? `${key.slice(0, 119)}…` : key);

/** One exported file, as an attachment under its own name. */
export async function serveExport(res: ServerResponse, home: string, key: string): Promise<void> {
  const real = await exportFile(home, key);
  if (!real) return send(res, 404, `no exported file ${shown(key)} in the Plumage home's exports folder`);
  const name = key.split('/').at(-1)!;
  await sendFile(res, dirname(real), real, 'no-store', {
    'content-type': exportContentType(name),
    'content-disposition': attachmentHeader(name),
  });
}

/** Several exported files as one zip, each under its key (so a sequence's folder stays a folder). */
export async function serveExportZip(req: IncomingMessage, res: ServerResponse, home: string): Promise<void> {
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
    return send(res, 415, 'send the batch as application/json: {"files": ["KEY", …]}');
  const body = await readBody(req, MAX_BATCH_REQUEST_BYTES);
  if (body === null) return send(res, 413, `a batch request is at most ${MAX_BATCH_REQUEST_BYTES} bytes`);
  let asked: { files?: unknown; name?: unknown };
  try {
    asked = JSON.parse(body) as typeof asked;
  } catch {
    return send(res, 400, 'the batch request is not JSON');
  }
  const keys = asked?.files;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string'))
    return send(res, 400, 'files must be a list of at least one exported file key');
  const unique = [...new Set(keys as string[])];
  if (unique.length > MAX_BATCH_FILES)
    return send(res, 413, `a batch holds at most ${MAX_BATCH_FILES} files (asked for ${unique.length})`);

  const files: { key: string; path: string; size: number; mtime: Date }[] = [];
  let total = 0;
  for (const key of unique) {
    const path = await exportFile(home, key);
    const handle = path ? await open(path, 'r').catch(() => null) : null;
    const st = await handle?.stat().catch(() => null);
    await handle?.close().catch(() => {});
    if (!path || !st) return send(res, 404, `no exported file ${shown(key)} in the Plumage home's exports folder`);
    files.push({ key, path, size: st.size, mtime: st.mtime });
    total += st.size;
  }
  if (total > MAX_BATCH_BYTES)
    return send(
      res,
      413,
      `these ${files.length} files are ${(total / 2 ** 30).toFixed(2)} GiB, more than one zip holds here ` +
        `(${MAX_BATCH_BYTES / 2 ** 30} GiB): download them one by one`,
    );

  res.writeHead(200, {
    'content-type': 'application/zip',
    'content-disposition': attachmentHeader(batchZipName(asked.name)),
    'cache-control': 'no-store',
  });
  const zip = new Zip((err, chunk, final) => {
    if (err) return void res.destroy(err);
    res.write(chunk);
    if (final) res.end();
  });
  try {
    for (const f of files) {
      const entry = new ZipPassThrough(f.key);
      entry.mtime = f.mtime;
      zip.add(entry);
      await pushFile(f.path, f.size, entry, res);
    }
    zip.end();
  } catch {
    // A file gone or unreadable half-way, or the client gone: this response is cut, nothing else.
    zip.terminate();
    res.destroy();
  }
}

/** Streams at most `size` bytes of `path` (its size when checked) into a zip entry, waiting while `res` is full. */
async function pushFile(path: string, size: number, entry: ZipPassThrough, res: ServerResponse): Promise<void> {
  const handle = await open(path, 'r');
  try {
    for (let left = size; ;) {
      if (res.destroyed) throw new Error('the client went away');
      // A fresh buffer each time: the response may still hold the last one in its queue.
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(left, 1)));
      const { bytesRead } = left > 0 ? await handle.read(buf, 0, buf.length, null) : { bytesRead: 0 };
      left -= bytesRead;
      const final = bytesRead === 0 || left === 0;
      entry.push(buf.subarray(0, bytesRead), final);
      if (final) return;
      if (res.writableNeedDrain) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * The request body as text, or null once it passes `max` bytes: the rest is then read and
 * dropped, never kept, so the reply can be read by a client still sending.
 */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > max) {
      req.resume();
      return resolve(null);
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes <= max) return void chunks.push(chunk);
      req.off('data', onData);
      req.resume();
      chunks.length = 0;
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}
