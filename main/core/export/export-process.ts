/**
 * The studio's side of an export process: one child per print or contact-sheet job, forked like
 * the gallery's generator (at the same lower CPU priority, so a running trainer comes first),
 * mirroring its progress into the studio's job. The studio's event loop only passes messages,
 * so its WebSocket and IPC stay live while ESRGAN tiles run.
 */
import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../runtime/backend-info.js';
import { GENERATOR_NICE } from '../gallery/generator-client.js';
import { forwardStderr } from '../util/child-stderr.js';
import type { ExportJob } from './job.js';
import type { ExportReply, ExportRequest, ExportWork } from './worker-protocol.js';

export const EXPORT_SCRIPT = fileURLToPath(new URL('./export-worker.js', import.meta.url));
/** A cancelled process stops at its next tile or step; one that has not ended by then is killed. */
const CANCEL_GRACE_MS = 15_000;

/**
 * Runs `work` for `job` in its own process, drawing and upscaling on `backend` (by default the
 * best one present); resolves when it has finished, rejects if it failed or was cancelled.
 */
export function runInExportProcess(work: ExportWork, job: ExportJob, backend?: BackendName): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = fork(EXPORT_SCRIPT, backend ? [backend] : [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    forwardStderr(child.stderr, 'export'); // without Dawn's native chatter
    try {
      if (child.pid !== undefined) setPriority(child.pid, GENERATOR_NICE);
    } catch {
      // Not permitted everywhere (some containers); the export still runs, at normal priority.
    }
    let ended: string | null | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const send = (m: ExportRequest): void => {
      if (child.connected) child.send(m);
    };
    const onAbort = (): void => {
      send({ type: 'cancel' });
      killTimer = setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE_MS);
    };
    job.signal.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: ExportReply) => {
      job.mirror(m.progress);
      if (m.type === 'end') {
        ended = m.error;
        child.disconnect();
      }
    });
    child.on('error', (err) => {
      // Only a process that never started has no exit to wait for; a promise settles once.
      if (child.pid === undefined) reject(new Error(`the export process could not start: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      job.signal.removeEventListener('abort', onAbort);
      if (ended === null) resolve();
      else reject(new Error(ended ?? `the export process ended (${signal ?? `exit code ${code}`})`));
    });
    send({ type: 'start', jobId: job.progress.jobId, kind: job.progress.kind, total: job.progress.total, work });
  });
}
