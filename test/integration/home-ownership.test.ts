/**
 * One home, one owner, and nothing lost when its owner dies: real `plumage` processes, killed and
 * signalled the way the world does it (the whole process group).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { openDatabase } from '../../main/core/store/db.js';
import { DB_FILE } from '../../main/core/home.js';
import { LOCK_FILE } from '../../main/core/home-lock.js';
import { CLI, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';
import { trainArgs } from '../helpers/runs.js';
import { serveApp } from '../helpers/browser.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
before(() => {
  tmp = tempDir('ownership');
});
after(() => {
  // A failed assertion must not leave a trainer behind: end each CLI's whole group.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) killGroup(c, 'SIGKILL');
  tmp.cleanup();
});

const killGroup = (c: ChildProcess, signal: NodeJS.Signals): void => {
  try {
    process.kill(-c.pid!, signal);
  } catch {
    // already gone
  }
};

interface Train {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `plumage train` in its own process group, as a terminal would run it; its JSON lines collected. */
function train(home: string): Train {
  const child = spawn(process.execPath, trainArgs(home, 0.04), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  const events: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l) as Record<string, unknown>));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, events, stderr: () => stderr, exited };
}

const until = async (t: Train, what: string, check: () => unknown, ms = 90_000): Promise<void> => {
  await waitFor(check, ms, what).catch((err: Error) => {
    throw new Error(`${err.message}; events ${JSON.stringify(t.events.slice(-5))}; stderr ${t.stderr()}`);
  });
};

interface DbRun {
  id: number;
  state: string;
  kimg: number;
}
/** Reads the home's database beside the process that owns it (WAL lets a reader in). */
function peek<T>(home: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(home, DB_FILE), { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
/** The newest checkpoint any run has; none while the database is still being created. */
function latestCheckpoint(home: string): { run_id: number; kimg: number; step: number } | undefined {
  if (!existsSync(join(home, DB_FILE))) return undefined;
  try {
    return peek(home, (db) =>
      db
        .prepare<[], { run_id: number; kimg: number; step: number }>(
          'SELECT run_id, kimg, step FROM checkpoints ORDER BY step DESC, id DESC LIMIT 1',
        )
        .get(),
    );
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return undefined;
    throw err;
  }
}

test('CLI train killed -9 (its whole group) after a checkpoint: the next train resumes that run from it', async () => {
  const home = join(tmp.dir, 'crash');
  const first = train(home);
  // Two checkpoints in, so a restart from zero could not be mistaken for a resume.
  await until(first, 'a second checkpoint', () => (latestCheckpoint(home)?.kimg ?? 0) >= 0.08);
  killGroup(first.child, 'SIGKILL');
  await first.exited;
  const ckpt = latestCheckpoint(home)!;
  const [before] = peek(home, (db) => db.prepare<[], DbRun>('SELECT id, state, kimg FROM runs').all());
  assert.equal(before!.state, 'running', 'a kill -9 leaves the run marked running');
  assert.ok(existsSync(join(home, LOCK_FILE)), 'and its lock behind');

  const second = train(home);
  await until(second, 'a tick after the resume', () => second.events.some((e) => e.event === 'tick'));
  const resume = second.events.find((e) => e.event === 'resume');
  assert.ok(resume, `resumed (events: ${second.events.map((e) => e.event).join(', ')})`);
  assert.equal(
    second.events.some((e) => e.event === 'created'),
    false,
    'no new run',
  );
  assert.equal(resume.runId, ckpt.run_id, 'the same run');
  assert.equal(resume.kimg, ckpt.kimg, "from the checkpoint's kimg");
  const tick = second.events.find((e) => e.event === 'tick')!;
  assert.ok((tick.kimg as number) > ckpt.kimg, `training continues past the checkpoint (tick at ${tick.kimg})`);
  assert.equal(peek(home, (db) => db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 1);

  second.child.kill('SIGTERM'); // a clean pause
  assert.equal(await second.exited, 0);
  assert.equal(existsSync(join(home, LOCK_FILE)), false, 'a clean exit frees the home');
});

test('serve on a home a CLI train owns is refused, naming the train; the train carries on', async () => {
  const home = join(tmp.dir, 'owned');
  const t = train(home);
  await until(t, 'training under way', () => t.events.some((e) => e.event === 'tick'));
  const ticksBefore = t.events.filter((e) => e.event === 'tick').length;

  const refused = await run(process.execPath, [CLI, 'serve', '--port', '0', '--home', home]).then(
    () => null,
    (err: { code: number; stderr: string }) => err,
  );
  assert.ok(refused, 'serve did not start');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`pid ${t.child.pid} \\(plumage train --dataset`));
  assert.match(refused.stderr, /in use by another Plumage process/);

  // Read-only commands need no lock.
  const { stdout } = await run(process.execPath, [CLI, 'runs', '--home', home, '--json']);
  assert.deepEqual(
    (JSON.parse(stdout) as { state: string }[]).map((r) => r.state),
    ['running'],
    'the live run was not marked paused',
  );
  await until(t, 'the train to carry on', () => t.events.filter((e) => e.event === 'tick').length > ticksBefore + 1);
  assert.equal(t.child.exitCode, null);

  t.child.kill('SIGTERM');
  assert.equal(await t.exited, 0);
  const app = await serveApp(home); // the home is free again
  await app.stop();
});

test('a damaged database: serve and train exit 1 naming the file and what to do, and change nothing', async () => {
  const home = join(tmp.dir, 'damaged');
  mkdirSync(home);
  const file = join(home, DB_FILE);
  const db = openDatabase(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(64, 0x41), 0, 64, 0);
  closeSync(fd);
  const size = statSync(file).size;
  for (const args of [
    ['serve', '--port', '0', '--home', home],
    ['train', '--dataset', SAMPLE_PLATES, '--home', home],
  ]) {
    const err = await run(process.execPath, [CLI, ...args]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    assert.ok(err, `${args[0]} refused`);
    assert.equal(err.code, 1);
    assert.match(err.stderr, new RegExp(`the database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged`));
    assert.match(err.stderr, /move it aside.*restore plumage\.db from a backup/s);
  }
  assert.equal(statSync(file).size, size);
  assert.equal(existsSync(join(home, LOCK_FILE)), false);
});
