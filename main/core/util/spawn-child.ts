/**
 * The seam through which the core starts its child processes: the core asks for a script to
 * run as a child and gets a Transport to it plus its life (pid, exit, kill). Node's shells (the
 * CLI, the server, tests) use `forkChild`; the Electron shell gives a utilityProcess one
 * (main/app/utility-child.ts), so Electron manages and ends every child with the app.
 */
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { forwardStderr } from './child-stderr.js';
import { childProcessTransport, type Transport } from './transport.js';

export interface SpawnOptions {
  /** The child in a few words ("generator", "export"): the label of its stderr lines. */
  name: string;
  args?: readonly string[];
  /**
   * Niceness (higher: a lower CPU priority than the studio's trainer), where permitted. With
   * `ownGroup` it is its session's niceness as well (see `lowerPriority`).
   */
  nice?: number;
  /**
   * In a process group of its own where the shell can (a fork: `detached`), so a terminal's Ctrl-C
   * (sent to the whole foreground group) reaches only the parent, which ends the child its own
   * way (the trainer: a pause that writes a checkpoint). A utility process cannot be: a child
   * that asks for this ignores SIGINT as well.
   */
  ownGroup?: boolean;
  /** Drops what it prints on stdout (a probe whose parent prints JSON there), rather than sharing the parent's. */
  quietStdout?: boolean;
}

export interface ChildHandle extends Transport {
  readonly pid: number | undefined;
  /** Whether it has not exited yet. */
  readonly running: boolean;
  /** Asks it to end: closes its channel where it has one (it exits when it sees that), else SIGTERM. */
  end(): void;
  kill(signal?: NodeJS.Signals): void;
  /** Once it has exited: its code, or the signal that ended it. */
  onExit(handler: (code: number | null, signal: string | null) => void): void;
}

export type SpawnChild = (script: string, opts: SpawnOptions) => ChildHandle;

/**
 * Calls `handler` once the child has exited and its channel has closed: after every message it
 * sent has been delivered (a fork's 'exit' can come before its last messages; its 'close' does not).
 */
export function onEnded(child: ChildHandle, handler: (code: number | null, signal: string | null) => void): void {
  let exit: [code: number | null, signal: string | null] | null = null;
  let closed = false;
  const ended = (): void => {
    if (exit && closed) handler(...exit);
  };
  child.onExit((code, signal) => ((exit = [code, signal]), ended()));
  child.onClose(() => ((closed = true), ended()));
}

/**
 * Lowers a child's CPU priority; not permitted everywhere (some containers), where it runs at
 * normal priority. A child in a session of its own (`ownSession`: a detached fork) gets the
 * same niceness for its session's autogroup too. Linux (with autogroups, the desktop default)
 * first shares the CPU equally between sessions and only then by niceness within one: the
 * trainer has a session of its own, so a nice-19 scorer in the studio's session still took half
 * the cores from it (kid-beside: 1.65× slower). Raising an autogroup's niceness needs no
 * privilege; it is done only for the child's own session, never the studio's.
 */
export function lowerPriority(pid: number | undefined, nice: number | undefined, ownSession = false): void {
  if (pid === undefined || nice === undefined) return;
  try {
    setPriority(pid, nice);
  } catch {
    // It still runs; only its priority is the studio's.
  }
  if (!ownSession || process.platform !== 'linux') return;
  try {
    // Only once it is in a group of its own: writing the studio's group would lower the studio.
    const group = (p: string): string => readFileSync(`/proc/${p}/autogroup`, 'utf8').split(' ')[0]!;
    if (group(String(pid)) !== group('self')) writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    // A kernel without autogroups: there, niceness alone already orders it below the trainer.
  }
}

/** A Node child with an IPC channel (structured clone: typed arrays cross as themselves). */
export const forkChild: SpawnChild = (script, opts) => {
  const child = fork(script, [...(opts.args ?? [])], {
    stdio: ['ignore', opts.quietStdout ? 'ignore' : 'inherit', 'pipe', 'ipc'],
    serialization: 'advanced',
    detached: opts.ownGroup ?? false,
  });
  forwardStderr(child.stderr, opts.name); // without Dawn's native chatter
  lowerPriority(child.pid, opts.nice, opts.ownGroup);
  const transport = childProcessTransport(child);
  return {
    ...transport,
    get pid() {
      return child.pid;
    },
    get running() {
      return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
    },
    // A signal to the whole process group (Ctrl-C) may have ended it already: its channel is
    // then closed, and disconnecting again would throw.
    end: () => {
      if (child.connected) child.disconnect();
      else if (child.exitCode === null && child.signalCode === null) child.kill();
    },
    kill: (signal) => void child.kill(signal),
    onExit: (h) => {
      if (child.exitCode !== null || child.signalCode !== null) h(child.exitCode, child.signalCode);
      else child.once('exit', (code, signal) => h(code, signal));
    },
  };
};
