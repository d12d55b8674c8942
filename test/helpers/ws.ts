import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import type { ServerFrame } from '../../preload/contract.js';

/** One WebSocket frame, built by hand so tests can send what no client library would. `length` may lie. */
export function wsFrame(
  opcode: number,
  payload: Buffer,
  { masked = true, rsv = 0, length }: { masked?: boolean; rsv?: number; length?: number } = {},
): Buffer {
  const n = length ?? payload.length;
  const head: number[] = [0x80 | (rsv << 4) | opcode];
  const m = masked ? 0x80 : 0;
  if (n < 126) head.push(m | n);
  else if (n < 65536) head.push(m | 126, n >> 8, n & 255);
  else {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    head.push(m | 127, ...b);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** A raw socket upgraded to a WebSocket on `/api` with the token (resolves after the 101). */
export function upgradedSocket(port: number, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('error', reject);
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(head));
      else resolve(s);
    };
    s.on('data', onData);
    s.write(
      `GET /api?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** A WebSocket client of the server's API at `url` (with its token): request/reply, and the events it sends. */
export async function apiSocket(url: string | URL): Promise<{
  call: (method: string, params?: unknown) => Promise<unknown>;
  events: ServerFrame[];
  close: () => void;
}> {
  const u = new URL(url);
  const ws = new WebSocket(`ws://${u.host}/api${u.search}`);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const events: ServerFrame[] = [];
  const pending = new Map<number, (f: ServerFrame) => void>();
  let id = 0;
  ws.on('message', (d) => {
    const f = JSON.parse(String(d)) as ServerFrame;
    if ('event' in f) events.push(f);
    else pending.get(f.id)?.(f);
  });
  return {
    events,
    close: () => ws.close(),
    call: (method, params) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        pending.set(n, (f) => ('ok' in f && f.ok ? resolve(f.result) : reject(new Error(JSON.stringify(f)))));
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
  };
}
