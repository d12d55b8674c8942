/**
 * The gallery's generator process: takes tasks one at a time from its parent over IPC, writes
 * the files, and reports each as it lands. It keeps tfjs and its memory out of the UI's (or the
 * server's) process. On a CPU backend a page of birds is drawn on worker threads, as many at
 * once as the task's `lanes` (one per core); on a GPU one lane here is the right shape. It ends
 * when its parent goes (the IPC channel closes).
 */
import { initBackend, isBackendName } from '../runtime/backend.js';
import { serve, type RequestContext } from '../util/child-rpc.js';
import { tolerateClosedStderr } from '../util/child-stderr.js';
import { debug } from '../util/debug.js';
import { parentTransport } from '../util/transport.js';
import { BirdThreads } from './bird-threads.js';
import type { GeneratorProtocol } from './protocol.js';
import { GeneratorCache, drawHere, runTask, type BirdDrawer } from './tasks.js';

/**
 * The backend its parent asked for (the CLI's `--backend`), else the best one present. Found
 * among the arguments, not at an index: a utility process's argv is laid out as Electron's.
 */
const asked = process.argv.slice(1).find(isBackendName);
const cache = new GeneratorCache();
tolerateClosedStderr();
let threads: BirdThreads | null = null;
/** The backend was chosen (the lanes are started, or not wanted) by an earlier task. */
let probed = false;
/** Tasks run one at a time, in the order they came (the parent sends one at a time anyway). */
let turn: Promise<unknown> = Promise.resolve();

async function drawer(lanes: number, job: number, stopped: () => boolean): Promise<BirdDrawer> {
  if (!threads) return drawHere(cache, stopped);
  await threads.resize(lanes);
  return { lanes: threads.size, draw: (file, specs) => threads!.draw(file, specs, job) };
}

/** Starts the backend (and, on a CPU one, the lanes); throws why it could not. */
async function startBackend(lanes: number): Promise<void> {
  // The lanes start beside the backend probe, which takes seconds at a cold start (it imports all
  // of tfjs and tries the GPUs first): wasm is what most machines end on. Where the probe picks
  // another backend they are ended, having cost a second of CPU once per process.
  const first = !probed;
  const speculative = probed || (asked && asked !== 'wasm') ? null : new BirdThreads('wasm');
  probed = true;
  const lanesUp = speculative?.resize(lanes).catch(() => {});
  const info = await initBackend(asked, () => {}).catch((err: Error) => err);
  if (first && !(info instanceof Error)) debug(`the generator process draws on ${info.kind}: ${info.description}`);
  await lanesUp;
  if (speculative) {
    if (!(info instanceof Error) && info.kind === 'wasm') threads = speculative;
    else await speculative.close();
  }
  if (info instanceof Error) throw info;
  if (!threads && info.kind === 'cpu') threads = new BirdThreads(info.kind);
}

async function task(
  { task, lanes }: GeneratorProtocol['requests']['task']['params'],
  { id, signal, emit }: RequestContext<GeneratorProtocol>,
): Promise<{ files: string[]; cancelled: boolean }> {
  await startBackend(lanes);
  if (signal.aborted) return { files: [], cancelled: true };
  // The lanes' passes in flight end at their next block.
  const stop = (): void => threads?.stop(id);
  signal.addEventListener('abort', stop, { once: true });
  try {
    const stopped = (): boolean => signal.aborted;
    const drawing = await drawer(lanes, id, stopped); // a warm-up starts the lanes too
    const files = await runTask(task, cache, (f) => emit('file', f), stopped, drawing);
    return { files, cancelled: signal.aborted };
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

// Ctrl-C reaches the whole process group: the parent decides what it means (`generate` cancels
// its job, so the bird in flight is finished or dropped, never left half-written) and ends this
// process by closing the channel.
process.on('SIGINT', () => {});
const transport = parentTransport();
serve<GeneratorProtocol>(transport, {
  task: (params, ctx) => {
    const mine = turn.then(() => task(params, ctx));
    turn = mine.catch(() => {});
    return mine;
  },
});
transport.onClose(() => process.exit(0));
