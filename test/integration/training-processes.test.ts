import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { apiSocket } from '../helpers/ws.js';
import { CLI, REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';
import { tinyRunOnPlates, trainArgs } from '../helpers/runs.js';
import { serveApp } from '../helpers/browser.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('processes');
});
after(() => tmp.cleanup());

/**
 * The trainer processes `parent` started (this checkout's trainer script). Only its children:
 * other test files train beside this one, from the same script.
 */
const trainersOf = (parent: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(parent), '-f', join(REPO_ROOT, 'dist/main/core/train/trainer.js')], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};
/** Those of `pids` still alive. */
const alive = (pids: number[]): number[] =>
  pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });

/** The newest checkpoint and the run's state, read from the database as it is on disk. */
const onDisk = (home: string): { state: string; error: string | null; kimg: number; ckptKimg: number | null } => {
  const db = new Database(join(home, 'plumage.db'), { readonly: true });
  try {
    return db
      .prepare(
        `SELECT state, error, kimg, (SELECT kimg FROM checkpoints c WHERE c.run_id = r.id ORDER BY step DESC LIMIT 1)
           AS ckptKimg FROM runs r ORDER BY id DESC LIMIT 1`,
      )
      .get() as { state: string; error: string | null; kimg: number; ckptKimg: number | null };
  } finally {
    db.close();
  }
};

test('plumage train: Ctrl-C to the whole process group (as a terminal sends it) pauses with a fresh checkpoint; the same command resumes from exactly there', async () => {
  const home = join(tmp.dir, 'cli-home');
  const args = trainArgs(home, 50);
  const trainOnce = async (
    expect: 'created' | 'resume',
  ): Promise<{ code: number | null; events: Record<string, unknown>[] }> => {
    // Its own process group, as a shell's foreground job: Ctrl-C signals every process in it.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const events: Record<string, unknown>[] = [];
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => events.push(JSON.parse(l) as Record<string, unknown>));
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d)));
    await waitFor(() => events.some((e) => e.event === 'tick'), 60_000, 'training under way').catch((err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}; events ${JSON.stringify(events)}; stderr ${stderr}`);
    });
    trainers.push(...trainersOf(child.pid!));
    assert.ok(
      events.some((e) => e.event === expect),
      `${expect} event (got ${events.map((e) => e.event).join(', ')})`,
    );
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    process.kill(-child.pid!, 'SIGINT');
    const code = await exited;
    return { code, events };
  };
  const trainers: number[] = [];
  const first = await trainOnce('created');
  assert.equal(first.code, 0);
  assert.ok(first.events.some((e) => e.event === 'state' && e.state === 'paused'));
  const paused = onDisk(home);
  assert.equal(paused.error, null, 'a clean pause: the trainer was not killed by the signal');
  assert.ok(paused.kimg > 0);
  assert.equal(paused.ckptKimg, paused.kimg, 'a fresh checkpoint at the kimg where it stopped');
  const { stdout } = await run(process.execPath, [CLI, 'runs', '--home', home, '--json']);
  const runs = JSON.parse(stdout) as {
    id: number;
    dataset: string;
    state: string;
    kimg: number;
    backend: string;
    lastCheckpoint: string | null;
  }[];
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.state, 'paused');
  assert.equal(runs[0]!.dataset, SAMPLE_PLATES);
  assert.ok(runs[0]!.kimg > 0 && runs[0]!.lastCheckpoint?.endsWith('.safetensors'));
  assert.match(runs[0]!.backend, /wasm|CUDA|CPU/);
  const second = await trainOnce('resume');
  assert.equal(second.code, 0);
  const resumed = second.events.find((e) => e.event === 'resume')!;
  assert.equal(resumed.kimg, runs[0]!.kimg, 'resumed where it paused');
  assert.equal(resumed.kimg, paused.ckptKimg, 'from exactly that checkpoint');
  const firstTick = second.events.find((e) => e.event === 'tick')!;
  assert.ok((firstTick.kimg as number) > paused.kimg, 'training went on from there');
  assert.equal(onDisk(home).ckptKimg, onDisk(home).kimg, 'and paused again with a checkpoint');
  assert.equal(trainers.length, 2, 'one trainer each time');
  assert.deepEqual(alive(trainers), [], 'no trainer process is left behind');
});

test('plumage serve: Ctrl-C to the whole process group pauses every run with a checkpoint', async () => {
  const home = join(tmp.dir, 'serve-sigint-home');
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--home', home], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => /^http:\/\/127/.test(l) && resolve(l));
    child.once('exit', (c) => reject(new Error(`serve exited with ${c}`)));
  });
  const api = await apiSocket(url);
  const call = api.call;
  const ticks = (): unknown[] => api.events.filter((f) => 'event' in f && f.event === 'runTick');
  const run = await tinyRunOnPlates(call);
  await call('startRun', { runId: run.id });
  await waitFor(() => ticks().length >= 1, 60_000, 'a tick');
  const trainers = trainersOf(child.pid!);
  assert.equal(trainers.length, 1);
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 0);
  api.close();
  const after = onDisk(home);
  assert.equal(after.state, 'paused');
  assert.equal(after.error, null, 'a clean pause, not "killed (SIGINT) while pausing"');
  assert.ok(after.kimg > 0 && after.ckptKimg === after.kimg, 'a fresh checkpoint at the kimg where it stopped');
  assert.deepEqual(alive(trainers), []);
});

test('kill -9 of the whole server mid-run: after a restart the run is found paused and resumes', async () => {
  const home = join(tmp.dir, 'server-home');
  let app = await serveApp(home);
  const connect = apiSocket;

  let api = await connect(app.url);
  const created = await tinyRunOnPlates(api.call, { checkpointKimg: 0.016 });
  await api.call('startRun', { runId: created.id });
  await waitFor(
    () =>
      api.events.some(
        (e) => 'event' in e && e.event === 'runChanged' && (e.payload as { lastCheckpoint: unknown }).lastCheckpoint,
      ),
    60_000,
    'a checkpoint',
  );
  const orphaned = trainersOf(app.process.pid!);
  assert.equal(orphaned.length, 1);

  app.process.kill('SIGKILL');
  await waitFor(() => app.process.exitCode !== null || app.process.signalCode !== null, 10_000, 'server gone');
  await waitFor(() => alive(orphaned).length === 0, 15_000, 'the orphaned trainer to notice and exit');

  app = await serveApp(home);
  api = await connect(app.url);
  const found = (
    (await api.call('listRuns')) as { id: number; state: string; error: string | null; kimg: number }[]
  ).find((r) => r.id === created.id)!;
  assert.equal(found.state, 'paused');
  assert.match(found.error ?? '', /interrupted/);
  await api.call('startRun', { runId: created.id });
  await waitFor(
    () =>
      api.events.some(
        (e) =>
          'event' in e && e.event === 'runTick' && (e.payload as { tick: { kimg: number } }).tick.kimg > found.kimg,
      ),
    60_000,
    'training again past the checkpoint',
  );
  // Quitting (SIGTERM) is a pause: the step in flight finishes and a checkpoint is written.
  const before = (await api.call('getRun', { runId: created.id })) as { checkpoints: { step: number }[] };
  const resumed = trainersOf(app.process.pid!);
  assert.equal(resumed.length, 1);
  api.close();
  await app.stop();
  assert.deepEqual(alive(resumed), []);
  app = await serveApp(home);
  api = await connect(app.url);
  const after = (await api.call('getRun', { runId: created.id })) as {
    state: string;
    error: string | null;
    checkpoints: { step: number }[];
  };
  assert.equal(after.state, 'paused');
  assert.equal(after.error, null, 'a clean pause, not an interruption');
  assert.ok(
    after.checkpoints.at(-1)!.step > before.checkpoints.at(-1)!.step,
    'a checkpoint was written on the way out',
  );
  api.close();
  await app.stop();
});
