/**
 * The gallery's generator process: takes tasks one at a time from its parent over IPC, writes
 * the files, and reports each as it lands. It keeps tfjs and its memory out of the UI's (or the
 * server's) process. It ends when its parent goes (the IPC channel closes).
 */
import { initBackend } from '../gan/backend.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import { GeneratorCache, runTask } from './tasks.js';

const cache = new GeneratorCache();
const cancelled = new Set<number>();
const queue: WorkerRequest[] = [];
let busy = false;

const send = (m: WorkerReply): void => {
  if (process.connected) process.send!(m);
};

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  const info = await initBackend(undefined, () => {}).catch((err: Error) => err);
  if (info instanceof Error) {
    for (const m of queue.splice(0)) if (m.type === 'task') send({ type: 'failed', id: m.id, error: info.message });
    busy = false;
    return;
  }
  while (queue.length > 0) {
    const m = queue.shift()!;
    if (m.type !== 'task') continue;
    if (cancelled.delete(m.id)) {
      send({ type: 'done', id: m.id, files: [], cancelled: true });
      continue;
    }
    try {
      const files = await runTask(
        m.task,
        cache,
        (f) => send({ type: 'file', id: m.id, ...f }),
        () => cancelled.has(m.id),
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
    return;
  }
  queue.push(m);
  void drain();
});
process.on('disconnect', () => process.exit(0));
