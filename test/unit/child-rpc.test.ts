import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { ChildEndedError, RequestTimeoutError, RpcClient, serve } from '../../main/core/util/child-rpc.js';
import { forkChild, type ChildHandle } from '../../main/core/util/spawn-child.js';
import { portTransport } from '../../main/core/util/transport.js';
import { Oddity, testHandlers, type TestProtocol } from '../helpers/rpc-fixture.js';

// The one request/reply helper every child of the studio speaks, proven over both kinds of
// channel it runs on: a real forked child process, and a MessagePort pair (as worker threads).

const CHILD = fileURLToPath(new URL('../helpers/rpc-child.js', import.meta.url));

interface Side {
  client: RpcClient<TestProtocol>;
  /** Ends the serving side abruptly (SIGKILL / closing its port). */
  kill(): void;
  close(): void;
}

function forked(): Side & { child: ChildHandle } {
  const child = forkChild(CHILD, { name: 'rpc test child' });
  const client = new RpcClient<TestProtocol>(child, { name: 'test process', errors: [Oddity] });
  return { client, child, kill: () => child.kill('SIGKILL'), close: () => child.end() };
}

function ported(): Side {
  const { port1, port2 } = new MessageChannel();
  const server = portTransport(port1);
  serve<TestProtocol>(
    server,
    testHandlers((m) => server.post(m)),
  );
  const client = new RpcClient<TestProtocol>(portTransport(port2), { name: 'test thread', errors: [Oddity] });
  return { client, kill: () => port1.close(), close: () => port2.close() };
}

for (const [kind, make] of [
  ['a forked child', forked],
  ['a MessagePort pair', ported],
] as const) {
  test(`${kind}: replies find their requests, each by its id`, async () => {
    const side = make();
    try {
      const texts = Array.from({ length: 20 }, (_, i) => `request ${i}`);
      // Out of order on purpose: a slow one first, its reply arriving after the later ones'.
      const slow = side.client.request('wait', { ms: 50 });
      const replies = await Promise.all(texts.map((text) => side.client.request('echo', { text })));
      assert.deepEqual(
        replies.map((r) => r.text),
        texts,
      );
      assert.equal(await slow, 'waited');
      assert.equal(side.client.pending, 0);
    } finally {
      side.close();
    }
  });

  test(`${kind}: errors keep their class, name and code`, async () => {
    const side = make();
    try {
      const odd = await side.client.request('fail', { as: 'oddity' }).catch((e: unknown) => e);
      assert.ok(odd instanceof Oddity, 'a known class arrives as itself');
      assert.equal(odd.message, 'an odd thing');
      assert.equal(odd.code, 'odd');
      const range = await side.client.request('fail', { as: 'range' }).catch((e: unknown) => e);
      assert.ok(range instanceof Error);
      assert.equal(range.name, 'RangeError');
      assert.equal(range.message, 'out of range');
      const coded = await side.client.request('fail', { as: 'coded' }).catch((e: unknown) => e);
      assert.equal((coded as { code?: string }).code, 'ENOENT');
      await assert.rejects(side.client.request('fail', { as: 'string' }), { message: 'a bare string' });
      // The channel is still good after errors.
      assert.equal((await side.client.request('echo', { text: 'after' })).text, 'after');
    } finally {
      side.close();
    }
  });

  test(`${kind}: a cancel reaches the handler, which answers; its events stop at once`, async () => {
    const side = make();
    try {
      const abort = new AbortController();
      const waiting = side.client.request('wait', { ms: 60_000 }, { signal: abort.signal });
      const other = side.client.request('wait', { ms: 30 });
      setTimeout(() => abort.abort(), 20);
      assert.equal(await waiting, 'cancelled');
      assert.equal(await other, 'waited', 'only the cancelled request stops');

      const ticks: number[] = [];
      const stop = new AbortController();
      const counted = side.client.request(
        'count',
        { n: 1000 },
        {
          signal: stop.signal,
          on: {
            tick: ({ i }) => {
              ticks.push(i);
              if (i === 3) stop.abort();
            },
          },
        },
      );
      const n = await counted;
      assert.ok(n < 1000, `the handler saw the cancel (counted ${n})`);
      assert.deepEqual(ticks, [0, 1, 2, 3], 'no event after the cancel');
    } finally {
      side.close();
    }
  });

  test(`${kind}: a request past its timeout fails with code 'timeout'; the child goes on`, async () => {
    const side = make();
    try {
      const err = await side.client.request('wait', { ms: 60_000 }, { timeoutMs: 50 }).catch((e: unknown) => e);
      assert.ok(err instanceof RequestTimeoutError);
      assert.equal(err.code, 'timeout');
      assert.match(err.message, /did not answer wait in 50 ms/);
      assert.equal(side.client.pending, 0);
      assert.equal((await side.client.request('echo', { text: 'still here' })).text, 'still here');
    } finally {
      side.close();
    }
  });

  test(`${kind}: events arrive in order, typed, with their request`, async () => {
    const side = make();
    try {
      const a: number[] = [];
      const b: number[] = [];
      const [na, nb] = await Promise.all([
        side.client.request('count', { n: 5 }, { on: { tick: ({ i }) => a.push(i) } }),
        side.client.request('count', { n: 3 }, { on: { tick: ({ i }) => b.push(i) } }),
      ]);
      assert.equal(na, 5);
      assert.equal(nb, 3);
      assert.deepEqual(a, [0, 1, 2, 3, 4]);
      assert.deepEqual(b, [0, 1, 2]);
    } finally {
      side.close();
    }
  });

  test(`${kind}: garbled messages and unsendable results fail nothing but their request`, async () => {
    const side = make();
    try {
      assert.equal(await side.client.request('garble', null), 'ok');
      assert.ok(side.client.garbled >= 8, `ignored ${side.client.garbled} messages that were not replies`);
      await assert.rejects(side.client.request('unclonable', null), /could not be cloned|function/i);
      const big = await side.client.request('big', { mb: 16 });
      assert.equal(big.length, 16 << 20);
      assert.equal(big[big.length - 1], 7);
      assert.equal((await side.client.request('echo', { text: 'fine' })).text, 'fine');
    } finally {
      side.close();
    }
  });

  test(`${kind}: the child's end fails every pending request, and every later one`, async () => {
    const side = make();
    const pending = [
      side.client.request('wait', { ms: 60_000 }),
      side.client.request('count', { n: 100_000 }),
      side.client.request('wait', { ms: 60_000 }, { timeoutMs: 60_000 }),
    ];
    await new Promise((r) => setTimeout(r, 100));
    side.kill();
    for (const p of pending) {
      const err = await p.catch((e: unknown) => e);
      assert.ok(err instanceof ChildEndedError, String(err));
      assert.equal(err.code, 'child-ended');
    }
    await assert.rejects(side.client.request('echo', { text: 'late' }), ChildEndedError);
  });
}

test('a forked child that exits names its exit code in the error', async () => {
  const side = forked();
  const err = await side.client.request('die', { code: 3 }).catch((e: unknown) => e);
  assert.ok(err instanceof ChildEndedError);
  assert.equal(err.message, 'the test process ended (exit code 3)');
  const killed = forked();
  const waiting = killed.client.request('wait', { ms: 60_000 });
  await killed.client.request('echo', { text: 'up' });
  killed.kill();
  await assert.rejects(waiting, { message: 'the test process ended (SIGKILL)' });
});

test('a script that cannot start fails its requests, not the parent', async () => {
  const child = forkChild('/nonexistent/plumage-child.js', { name: 'missing' });
  const client = new RpcClient<TestProtocol>(child, { name: 'missing process' });
  await assert.rejects(client.request('echo', { text: 'x' }), ChildEndedError);
});
