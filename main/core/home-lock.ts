/**
 * One home, one owner. Every process that writes to a home (the app, `serve`, `train`, `ingest`)
 * holds `plumage.lock` in it for as long as it runs, so two processes never drive the same run:
 * a second one is refused with the pid and command of the holder. Read-only commands (`runs`)
 * take no lock.
 *
 * The lock file is created with O_EXCL and holds JSON (pid, command, start time, host, and on
 * Linux the holder's kernel start time). A lock whose process is gone is stale and is taken
 * over: after a crash or a kill -9, the next start needs no manual clean-up. A reused pid is
 * told apart by its start time in /proc, where there is one. The lock also names the home folder
 * it was taken in (its inode): one that came along with a copy or a backup restored elsewhere
 * locks nothing there, while a home renamed under a live process stays locked.
 */
import { closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { lockFile } from './home-layout.js';

export { LOCK_FILE } from './home-layout.js';
/** A lock file that is still empty or half-written after this long was left by a process that died writing it. */
const UNWRITTEN_STALE_MS = 2_000;
/** The breaker file is held for microseconds; one older than this was left by a process that died holding it. */
const BREAKER_STALE_MS = 10_000;
const RETRY_MS = 50;
const ATTEMPTS = 100;

export interface LockOwner {
  pid: number;
  /** What the holder is doing, for the refusal message: `plumage train --dataset …`, `Plumage (desktop app)`. */
  command: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  host: string;
  /** Linux: the process's start time in clock ticks since boot (/proc/PID/stat field 22); null elsewhere. */
  procStart: string | null;
  /** The inode of the home folder the lock was taken in; null in a lock an earlier version wrote. */
  homeId: string | null;
}

export class HomeLockedError extends Error {
  readonly code = 'home-locked';
  constructor(
    readonly home: string,
    readonly owner: LockOwner,
  ) {
    const where = owner.host === hostname() ? '' : ` on ${owner.host}`;
    super(
      `the Plumage home ${home} is in use by another Plumage process: pid ${owner.pid}${where} ` +
        `(${owner.command}), since ${owner.startedAt}. One process owns a home at a time: wait for it ` +
        `to finish or stop it (Ctrl-C pauses a train), or use another home with --home DIR.`,
    );
    this.name = 'HomeLockedError';
  }
}

/** What this process is, in the words a user would type: `plumage train --dataset …`. */
export function describeThisProcess(): string {
  if (process.versions.electron) return 'Plumage (desktop app)';
  const command = ['plumage', ...process.argv.slice(2)].join(' ');
  return command.length > 200 ? `${command.slice(0, 199)}…` : command;
}

/** The kernel's start time of a process (Linux), or null where there is no /proc or no such process. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command) is in parentheses and may hold spaces or ')'; count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 overall; this slice starts at field 3
  } catch {
    return null;
  }
}

/** Whether the process a lock names still runs (a different host cannot be checked, so it counts as alive). */
export function isLockOwnerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.procStart === null) return true;
  const now = processStartTime(owner.pid);
  return now === null || now === owner.procStart;
}

export class HomeLock {
  #released = false;
  readonly #onExit = (): void => this.release();

  constructor(
    readonly file: string,
    readonly owner: LockOwner,
    readonly raw: string,
  ) {
    // A process that exits without closing its Studio (an uncaught error) still frees its home.
    process.once('exit', this.#onExit);
  }

  /** Removes the lock file, if it is still this process's (never one another process took over). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    process.off('exit', this.#onExit);
    if (readRaw(this.file) === this.raw) unlinkQuiet(this.file);
  }
}

/**
 * The live process that holds the home, or null: no lock, a lock whose process is gone (a crash,
 * a kill -9), or one that came along with a copy. For readers that take no lock (`runs`), to
 * tell a run that trains from one a dead process left 'running'.
 */
export function homeHolder(home: string): LockOwner | null {
  const raw = readRaw(lockFile(home));
  const holder = raw === null ? null : parseOwner(raw);
  if (!holder) return null;
  const here = folderId(home);
  if (holder.homeId !== null && here !== null && holder.homeId !== here) return null;
  return isLockOwnerAlive(holder) ? holder : null;
}

/** Takes the home's lock, taking over a stale one; throws HomeLockedError while a live process holds it. */
export function acquireHomeLock(home: string, command = describeThisProcess()): HomeLock {
  const file = lockFile(home);
  const here = folderId(home);
  const owner: LockOwner = {
    pid: process.pid,
    command,
    startedAt: new Date().toISOString(),
    host: hostname(),
    procStart: processStartTime(process.pid),
    homeId: here,
  };
  const raw = `${JSON.stringify(owner)}\n`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (createExclusive(file, raw)) return new HomeLock(file, owner, raw);
    const seen = readRaw(file);
    if (seen === null) continue; // released in between: try again
    const holder = parseOwner(seen);
    if (holder) {
      const copied = holder.homeId !== null && here !== null && holder.homeId !== here;
      if (!copied && isLockOwnerAlive(holder)) throw new HomeLockedError(home, holder);
    } else if (Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < UNWRITTEN_STALE_MS) {
      sleep(RETRY_MS); // being written right now by a process that just created it
      continue;
    }
    breakStale(file, seen);
  }
  throw new Error(`could not take the lock ${file}: it kept changing hands; try again`);
}

/** O_EXCL create and write; false if the file exists. */
function createExclusive(file: string, raw: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, raw);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock, but only while holding the breaker file and only if the lock still holds
 * what was judged stale: two processes that both found it stale must not remove each other's
 * fresh lock.
 */
function breakStale(file: string, staleRaw: string): void {
  const breaker = `${file}.break`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (createExclusive(breaker, String(process.pid))) {
      try {
        if (readRaw(file) === staleRaw) unlinkQuiet(file);
      } finally {
        unlinkQuiet(breaker);
      }
      return;
    }
    const age = Date.now() - (statSync(breaker, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > BREAKER_STALE_MS) unlinkQuiet(breaker);
    else sleep(RETRY_MS);
  }
}

function parseOwner(raw: string): LockOwner | null {
  try {
    const o = JSON.parse(raw) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0) return null;
    return {
      pid: o.pid,
      command: typeof o.command === 'string' ? o.command : 'unknown command',
      startedAt: typeof o.startedAt === 'string' ? o.startedAt : 'an unknown time',
      host: typeof o.host === 'string' ? o.host : hostname(),
      procStart: typeof o.procStart === 'string' ? o.procStart : null,
      homeId: typeof o.homeId === 'string' ? o.homeId : null,
    };
  } catch {
    return null;
  }
}

/**
 * The home folder's inode, as a string (bigint: NTFS file ids overflow a double). The same on
 * every host that mounts a shared home, so a live lock from another machine still holds.
 */
function folderId(home: string): string | null {
  try {
    return statSync(home, { bigint: true }).ino.toString();
  } catch {
    return null;
  }
}

/** The lock file's text, or null if it does not exist. */
function readRaw(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Opening a Studio is synchronous, so the few short waits here are too. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
