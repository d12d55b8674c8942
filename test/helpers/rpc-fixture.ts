/** A protocol and its handlers for child-rpc's own tests (unit/child-rpc), served by a forked child or a port. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handlers } from '../../main/core/util/child-rpc.js';

export class Oddity extends Error {
  readonly code = 'odd';
}

export interface TestProtocol {
  requests: {
    echo: { params: { text: string }; result: { text: string; pid: number } };
    fail: { params: { as: 'oddity' | 'range' | 'string' | 'coded' }; result: never };
    /** Waits `ms` or until cancelled; says which. */
    wait: { params: { ms: number }; result: 'waited' | 'cancelled' };
    count: { params: { n: number }; result: number };
    die: { params: { code: number }; result: never };
    /** Sends messages that are not replies of this protocol, then answers. */
    garble: { params: null; result: 'ok' };
    unclonable: { params: null; result: unknown };
    big: { params: { mb: number }; result: Uint8Array };
  };
  events: { tick: { i: number } };
}

export function testHandlers(raw: (m: unknown) => void): Handlers<TestProtocol> {
  return {
    echo: ({ text }) => ({ text, pid: process.pid }),
    fail: ({ as }) => {
      if (as === 'oddity') throw new Oddity('an odd thing');
      if (as === 'range') throw new RangeError('out of range');
      if (as === 'coded') throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      throw 'a bare string';
    },
    wait: async ({ ms }, { signal }) => {
      try {
        await sleep(ms, undefined, { signal });
        return 'waited';
      } catch {
        return 'cancelled';
      }
    },
    count: async ({ n }, { emit, signal }) => {
      let i = 0;
      for (; i < n && !signal.aborted; i++) {
        emit('tick', { i });
        await sleep(5);
      }
      return i;
    },
    die: ({ code }) => process.exit(code),
    garble: () => {
      for (const m of [null, 'text', 42, [], { rpc: 'result' }, { rpc: 'result', id: 'x' }, { rpc: 'nope', id: 1 }])
        raw(m);
      raw({ rpc: 'result', id: 999_999, result: 'for nobody' });
      raw({ rpc: 'error', id: 999_998, error: 'not an error' });
      return 'ok';
    },
    unclonable: () => ({ f: () => 1 }),
    big: ({ mb }) => new Uint8Array(mb << 20).fill(7),
  };
}
