/**
 * The gallery's generator process: takes tasks one at a time from its parent over IPC, writes
 * the files, and reports each as it lands. It keeps tfjs and its memory out of the UI's (or the
 * server's) process. On a CPU backend a page of birds is drawn on worker threads, as many at
 * once as the task's `lanes` (one per core); on a GPU one lane here is the right shape. It ends
 * when its parent goes (the IPC channel closes).
 */
import { initBackend, isBackendName } from '../gan/backend.js';
import { tolerateClosedStderr } from '../util/child-stderr.js';
import { debug } from '../util/debug.js';
import { BirdThreads } from './bird-threads.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import { GeneratorCache, drawHere, runTask, type BirdDrawer } from './tasks.js';

/** The backend its parent asked for (the CLI's `--backend`), else the best one present. */
const asked = isBackendName(process.argv[2]) ? process.argv[2] : undefined;
const cache = new GeneratorCache();
tolerateClosedStderr();
const cancelled = new Set<number>();
const queue: Extract<WorkerRequest, { type: 'task' }>[] = [];
let threads: BirdThreads | null = null;
let busy = false;
/** The backend was chosen (the lanes are started, or not wanted) by an earlier drain. */
let probed = false;

const send = (m: WorkerReply): void => {
  // With a callback, a channel that closes under the write (the parent closed it: a quit, the
  // checkpoint scorer's stop) is an error passed here, not an 'error' event that ends this
  // process with a stack trace on stderr; the 'disconnect' below ends it quietly instead.
  if (process.connected) process.send!(m, undefined, undefined, () => {});
};

async function drawer(lanes: number, job: number): Promise<BirdDrawer> {
  const stopped = (): boolean => cancelled.has(job);
  if (!threads) return drawHere(cache, stopped);
  await threads.resize(lanes);
  return { lanes: threads.size, draw: (file, specs) => threads!.draw(file, specs, job) };
}

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  // The lanes start beside the backend probe, which takes seconds at a cold start (it imports all
  // of tfjs and tries the GPUs first): wasm is what most machines end on. Where the probe picks
  // another backend they are ended, having cost a second of CPU once per process.
  const first = !probed;
  const speculative = probed || (asked && asked !== 'wasm') ? null : new BirdThreads('wasm');
  probed = true;
  const lanesUp = speculative?.resize(queue[0]?.lanes ?? 1).catch(() => {});
  const info = await initBackend(asked, () => {}).catch((err: Error) => err);
  if (first && !(info instanceof Error)) debug(`the generator process draws on ${info.kind}: ${info.description}`);
  await lanesUp;
  if (speculative) {
    if (!(info instanceof Error) && info.kind === 'wasm') threads = speculative;
    else await speculative.close();
  }
  if (info instanceof Error) {
    for (const m of queue.splice(0)) send({ type: 'failed', id: m.id, error: info.message });
    busy = false;
    return;
  }
  if (!threads && info.kind === 'cpu') threads = new BirdThreads(info.kind);
  while (queue.length > 0) {
    const m = queue.shift()!;
    if (cancelled.delete(m.id)) {
      send({ type: 'done', id: m.id, files: [], cancelled: true });
      continue;
    }
    try {
      const lanes = await drawer(m.lanes, m.id); // a warm-up starts the lanes too
      const files = await runTask(
        m.task,
        cache,
        (f) => send({ type: 'file', id: m.id, ...f }),
        () => cancelled.has(m.id),
        lanes,
      );
      send({ type: 'done', id: m.id, files, cancelled: cancelled.delete(m.id) });
    } catch (err) {
      const e = err as { message?: string; code?: string };
      send({ type: 'failed', id: m.id, error: e.message ?? String(err), ...(e.code ? { code: e.code } : {}) });
    }
  }
  busy = false;
}

process.on('message', (m: WorkerRequest) => {
  if (m.type === 'cancel') {
    cancelled.add(m.id);
    threads?.stop(m.id); // the lanes' passes in flight end at their next block
    return;
  }
  queue.push(m);
  void drain();
});
process.on('disconnect', () => process.exit(0));
