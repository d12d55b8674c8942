import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  acquireHomeLock,
  HomeLockedError,
  LOCK_FILE,
  processStartTime,
  type LockOwner,
} from '../../main/core/home-lock.js';
import { tempDir } from '../helpers/paths.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;
before(() => {
  tmp = tempDir('lock');
});
after(() => tmp.cleanup());

const home = (): string => {
  const dir = join(tmp.dir, `home-${++n}`);
  mkdirSync(dir);
  return dir;
};
const writeLock = (dir: string, owner: Partial<LockOwner>): void =>
  writeFileSync(
    join(dir, LOCK_FILE),
    JSON.stringify({
      command: 'plumage train --dataset x',
      startedAt: '2026-01-01T00:00:00Z',
      host: hostname(),
      ...owner,
    }),
  );
/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

test('the lock names its owner; a second taker is refused with pid and command; release frees it', () => {
  const dir = home();
  const lock = acquireHomeLock(dir, 'plumage serve --port 0');
  const written = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockOwner;
  assert.equal(written.pid, process.pid);
  assert.equal(written.command, 'plumage serve --port 0');
  assert.throws(
    () => acquireHomeLock(dir, 'plumage train'),
    (err: unknown) => {
      assert.ok(err instanceof HomeLockedError);
      assert.match(err.message, new RegExp(`pid ${process.pid} \\(plumage serve --port 0\\)`));
      assert.match(err.message, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      return true;
    },
  );
  lock.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  acquireHomeLock(dir, 'plumage train').release();
});

test('a lock left by a dead process is taken over', () => {
  const dir = home();
  writeLock(dir, { pid: deadPid(), procStart: null });
  const lock = acquireHomeLock(dir, 'plumage train');
  assert.equal((JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockOwner).pid, process.pid);
  lock.release();
});

test(
  'a reused pid (same pid, another start time) does not hold the lock',
  { skip: !existsSync('/proc/self/stat') },
  () => {
    const dir = home();
    const mine = processStartTime(process.pid);
    assert.match(mine ?? '', /^\d+$/, 'a start time in clock ticks');
    // The lock names this very pid, but as it was when another process had it.
    writeLock(dir, { pid: process.pid, procStart: String(Number(mine) + 1) });
    acquireHomeLock(dir, 'plumage train').release();
    // The same pid with the right start time is this process: held.
    writeLock(dir, { pid: process.pid, procStart: mine });
    assert.throws(() => acquireHomeLock(dir, 'plumage train'), HomeLockedError);
  },
);

test('a half-written lock is waited for while fresh, and taken over once old', () => {
  const dir = home();
  const file = join(dir, LOCK_FILE);
  writeFileSync(file, '');
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);
  acquireHomeLock(dir, 'plumage train').release();
  writeFileSync(file, '{"pid":');
  const t0 = Date.now();
  // Fresh garbage is a lock being written: it is waited on, then (never completed) taken over.
  acquireHomeLock(dir, 'plumage train').release();
  assert.ok(Date.now() - t0 >= 1_500, 'waited for the writer before taking over');
});

test('a lock held on another host is not second-guessed', () => {
  const dir = home();
  writeLock(dir, { pid: deadPid(), host: `not-${hostname()}`, procStart: null });
  assert.throws(() => acquireHomeLock(dir, 'plumage train'), /on not-/);
});

test('a lock copied along with its home locks nothing in the copy; a home renamed under its owner stays locked', () => {
  const dir = home();
  const lock = acquireHomeLock(dir, 'plumage serve');
  const copy = `${dir}-copy`;
  cpSync(dir, copy, { recursive: true }); // the user copies the home while the app runs
  const inCopy = acquireHomeLock(copy, 'plumage train');
  assert.equal((JSON.parse(readFileSync(join(copy, LOCK_FILE), 'utf8')) as LockOwner).command, 'plumage train');
  inCopy.release();
  const moved = `${dir}-moved`;
  renameSync(dir, moved);
  assert.throws(() => acquireHomeLock(moved, 'plumage train'), HomeLockedError, 'the live owner still holds it');
  renameSync(moved, dir);
  lock.release();
});
