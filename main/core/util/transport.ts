/**
 * One end of a message channel, whatever carries it: a forked child process (either end), an
 * Electron utility process (either end), a worker thread (either end) or a MessagePort. The
 * request/reply helper (child-rpc.ts) speaks over this and nothing else, so every child of the
 * studio is talked to the same way.
 */
import type { ChildProcess } from 'node:child_process';
import type { MessagePort, Transferable, Worker } from 'node:worker_threads';

/** What a worker thread's message may move rather than copy (buffers, ports). */
export type Movable = Transferable;

export interface Transport {
  /** Sends one message; throws if it cannot be serialised. A channel already closed drops it. */
  post(message: unknown, transfer?: readonly Movable[]): void;
  onMessage(handler: (message: unknown) => void): void;
  /** The other end is gone, with why in a few words ("exit code 1", "SIGKILL"); called once. */
  onClose(handler: (reason: string) => void): void;
}

/** Calls `handler` once, however many of a channel's end events fire. */
function once(handler: (reason: string) => void): (reason: string) => void {
  let called = false;
  return (reason) => {
    if (called) return;
    called = true;
    handler(reason);
  };
}

/** The parent's end of a child_process.fork: closed on 'close' (after every message it sent was delivered). */
export function childProcessTransport(child: ChildProcess): Transport {
  return {
    post: (m) => {
      if (child.connected) child.send(m as object);
    },
    onMessage: (h) => child.on('message', h),
    onClose: (h) => {
      const end = once(h);
      child.on('close', (code, signal) => end(signal ?? `exit code ${code}`));
      // Only a process that never started has no close to wait for.
      child.on('error', (err) => {
        if (child.pid === undefined) end(`could not start: ${err.message}`);
      });
    },
  };
}

/** The parent's end of a worker thread: its replies may carry transferred buffers. */
export function workerTransport(worker: Worker): Transport {
  return {
    post: (m, transfer) => worker.postMessage(m, transfer),
    onMessage: (h) => worker.on('message', h),
    onClose: (h) => {
      const end = once(h);
      worker.on('error', (err) => end(`failed: ${err.message}`));
      worker.on('exit', (code) => end(`exit code ${code}`));
    },
  };
}

/** A MessagePort (a worker thread's parentPort, or one end of a MessageChannel). */
export function portTransport(port: MessagePort): Transport {
  return {
    post: (m, transfer) => port.postMessage(m, transfer),
    onMessage: (h) => port.on('message', h),
    onClose: (h) => port.once('close', () => h('its port closed')),
  };
}

/** Electron gives a utility process `process.parentPort` (messages arrive as `{ data }`) instead of process.send. */
interface ElectronParentPort {
  postMessage(m: unknown): void;
  on(e: 'message', h: (e: { data: unknown }) => void): void;
}

/**
 * A child process's end towards its parent: Node's IPC channel, or Electron's parentPort in a
 * utility process (which has no disconnect: it ends with its parent, or is killed).
 */
export function parentTransport(): Transport {
  const electron = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (electron)
    return {
      post: (m) => electron.postMessage(m),
      onMessage: (h) => electron.on('message', (e) => h(e.data)),
      onClose: () => {},
    };
  return {
    // After the parent is gone a send would throw: there is nobody left to tell.
    post: (m) => {
      if (process.connected) process.send!(m);
    },
    onMessage: (h) => process.on('message', h),
    onClose: (h) => process.once('disconnect', () => h('the parent disconnected')),
  };
}
