/**
 * The studio's side of an export process: one child per print or contact-sheet job, started like
 * the gallery's generator (at the same lower CPU priority, so a running trainer comes first),
 * mirroring its progress into the studio's job. The studio's event loop only passes messages,
 * so its WebSocket and IPC stay live while ESRGAN tiles run.
 */
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../runtime/backend-info.js';
import { GENERATOR_NICE } from '../gallery/generator-client.js';
import { RpcClient } from '../util/child-rpc.js';
import { forkChild, type SpawnChild } from '../util/spawn-child.js';
import type { ExportJob } from './job.js';
import type { ExportProtocol, ExportWork } from './worker-protocol.js';

export const EXPORT_SCRIPT = fileURLToPath(new URL('./export-worker.js', import.meta.url));
/** A cancelled process stops at its next tile or step; one that has not ended by then is killed. */
const CANCEL_GRACE_MS = 15_000;

/**
 * Runs `work` for `job` in its own process, drawing and upscaling on `backend` (by default the
 * best one present); resolves when it has finished and the process has ended, rejects if it
 * failed or was cancelled.
 */
export async function runInExportProcess(
  work: ExportWork,
  job: ExportJob,
  backend?: BackendName,
  spawn: SpawnChild = forkChild,
): Promise<void> {
  const child = spawn(EXPORT_SCRIPT, { name: 'export', args: backend ? [backend] : [], nice: GENERATOR_NICE });
  const exited = new Promise<void>((r) => child.onExit(() => r()));
  const rpc = new RpcClient<ExportProtocol>(child, { name: 'export process' });
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => void (killTimer = setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE_MS));
  job.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const { progress } = job;
    const end = await rpc.request(
      'run',
      { jobId: progress.jobId, kind: progress.kind, total: progress.total, work },
      // Files the process finishes after a cancel are still recorded.
      { signal: job.signal, afterCancel: 'keep', on: { progress: (p) => job.mirror(p) } },
    );
    job.mirror(end.progress);
    if (end.error !== null) throw new Error(end.error);
  } finally {
    child.end();
    if (child.pid !== undefined) await exited;
    clearTimeout(killTimer);
    job.signal.removeEventListener('abort', onAbort);
  }
}
