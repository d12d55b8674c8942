import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageChannel } from 'node:worker_threads';
import { GENERATOR_NICE, GeneratorClient, TaskFailedError } from '../../main/core/gallery/generator-client.js';
import type { GeneratorProtocol } from '../../main/core/gallery/protocol.js';
import type { GalleryTask } from '../../main/core/gallery/tasks.js';
import { serve } from '../../main/core/util/child-rpc.js';
import type { ChildHandle, SpawnChild, SpawnOptions } from '../../main/core/util/spawn-child.js';
import { portTransport } from '../../main/core/util/transport.js';

// The gallery's side of its generator process, through the SpawnChild seam a shell provides:
// here a scripted generator on a MessagePort, so the queue, cancel and a child's death are
// tested without tfjs. (The real process is integration/gallery*.)

interface Scripted {
  spawn: SpawnChild;
  spawned: SpawnOptions[];
  /** The live child's end, abrupt (as a crash). */
  crash(): void;
  /** Tasks the children saw, in order. */
  seen: GalleryTask[];
}

/** Each 'birds' task writes one file per `out` entry, 10 ms apart, until cancelled. */
function scripted(): Scripted {
  const spawned: SpawnOptions[] = [];
  const seen: GalleryTask[] = [];
  let live: (() => void) | null = null;
  const spawn: SpawnChild = (_script, opts) => {
    spawned.push(opts);
    let busy = 0; // in this child (a dead one's last pass may still be ending)
    const { port1, port2 } = new MessageChannel();
    serve<GeneratorProtocol>(portTransport(port1), {
      task: async ({ task }, { signal, emit }) => {
        seen.push(task);
        assert.equal(++busy, 1, 'one task at a time');
        try {
          const files: string[] = [];
          for (const [index, file] of (task.kind === 'birds' ? task.out : []).entries()) {
            if (signal.aborted) break;
            await sleep(10);
            files.push(file);
            emit('file', { index, file, ms: 10 });
          }
          return { files, cancelled: signal.aborted };
        } finally {
          busy--;
        }
      },
    });
    const transport = portTransport(port2);
    let exited = false;
    const exits: ((code: number | null, signal: string | null) => void)[] = [];
    port2.once('close', () => {
      exited = true;
      for (const h of exits) h(null, 'SIGKILL');
    });
    live = () => port1.close();
    const child: ChildHandle = {
      ...transport,
      pid: 4242,
      get running() {
        return !exited;
      },
      end: () => port1.close(),
      kill: () => port1.close(),
      onExit: (h) => (exited ? h(null, 'SIGKILL') : exits.push(h)),
    };
    return child;
  };
  return { spawn, spawned, seen, crash: () => live?.() };
}

const birds = (n: number, tag: string): GalleryTask => ({
  kind: 'birds',
  file: 'g.safetensors',
  specs: [],
  out: Array.from({ length: n }, (_, i) => `${tag}-${i}.png`),
});

test('tasks go to the child the shell spawned, one at a time, with their files as they land', async () => {
  const s = scripted();
  const client = new GeneratorClient({ spawn: s.spawn, backend: 'cpu', lanes: () => 1 });
  const landed: string[] = [];
  const a = client.submit(birds(3, 'a'), (f) => landed.push(f.file));
  const b = client.submit(birds(2, 'b'), (f) => landed.push(f.file));
  assert.deepEqual((await a.done).files, ['a-0.png', 'a-1.png', 'a-2.png']);
  assert.deepEqual(await b.done, { files: ['b-0.png', 'b-1.png'], cancelled: false });
  assert.deepEqual(landed, ['a-0.png', 'a-1.png', 'a-2.png', 'b-0.png', 'b-1.png']);
  assert.deepEqual(s.spawned, [{ name: 'generator', args: ['cpu'], nice: GENERATOR_NICE, ownGroup: false }]);
  await client.close();
});

test('a background client (the scorer) asks for a session of its own, where its niceness holds against the trainer', async () => {
  const s = scripted();
  const client = new GeneratorClient({ spawn: s.spawn, nice: 19, background: true });
  await client.submit(birds(1, 'k')).done;
  assert.deepEqual(s.spawned, [{ name: 'generator', args: [], nice: 19, ownGroup: true }]);
  await client.close();
});

test('cancel: a waiting job never reaches the child; the running one stops and reports nothing more', async () => {
  const s = scripted();
  const client = new GeneratorClient({ spawn: s.spawn });
  const landed: string[] = [];
  const running = client.submit(birds(100, 'r'), (f) => {
    landed.push(f.file);
    if (landed.length === 2) client.cancel(running.id);
  });
  const waiting = client.submit(birds(1, 'w'));
  assert.ok(client.cancel(waiting.id));
  assert.deepEqual(await waiting.done, { files: [], cancelled: true });
  const r = await running.done;
  assert.equal(r.cancelled, true);
  assert.ok(r.files.length < 100, `stopped after ${r.files.length}`);
  assert.deepEqual(landed, ['r-0.png', 'r-1.png'], 'no file after the cancel');
  assert.deepEqual(
    s.seen.map((t) => (t.kind === 'birds' ? t.out[0] : t.kind)),
    ['r-0.png'],
  );
  await client.close();
});

test("the child's death fails its job, and the next job gets a fresh child", async () => {
  const s = scripted();
  const client = new GeneratorClient({ spawn: s.spawn });
  const doomed = client.submit(birds(100, 'd'), (f) => {
    if (f.index === 1) s.crash();
  });
  const next = client.submit(birds(1, 'n'));
  const err = await doomed.done.catch((e: unknown) => e);
  assert.ok(err instanceof TaskFailedError, String(err));
  assert.match(err.message, /^the generator process ended \(/);
  assert.deepEqual(await next.done, { files: ['n-0.png'], cancelled: false });
  assert.equal(s.spawned.length, 2);
  await client.close();
});

test('close ends the child; a job in flight ends as cancelled, and nothing more is accepted', async () => {
  const s = scripted();
  const client = new GeneratorClient({ spawn: s.spawn });
  const running = client.submit(birds(100, 'c'));
  const waiting = client.submit(birds(1, 'w'));
  await sleep(30);
  await client.close();
  assert.equal((await running.done).cancelled, true);
  assert.deepEqual(await waiting.done, { files: [], cancelled: true });
  assert.throws(() => client.submit(birds(1, 'x')), /closing/);
});
