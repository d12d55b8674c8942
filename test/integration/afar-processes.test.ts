import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { RunSummary } from '../../preload/contract.js';
import { trainArgs, tinyRunOnPlates } from '../helpers/runs.js';
import { apiSocket } from '../helpers/ws.js';
import { CLI, REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';

// Plumage run from another room: Ctrl-C on `train` or `serve` says what it paused and how to go
// on, a restarted `serve --port 0` comes back where the open page looks for it, and a run whose
// process was killed is told apart from one that trains.

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('afar');
});
after(() => tmp.cleanup());

/** A process started as a shell starts a foreground job: its own group, so Ctrl-C reaches all of it. */
interface Job {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  waitLine(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
}

function job(command: string, args: string[]): Job {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  // A process that never exits fails the test with what it said, rather than hanging it.
  const exited = Promise.race([
    exit,
    new Promise<never>((_, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`did not exit within 3 min; stdout:\n${lines.join('\n')}\nstderr:\n${stderr.slice(-2000)}`));
      }, 180_000);
      void exit.then(() => clearTimeout(timer));
    }),
  ]);
  return {
    child,
    lines,
    exited,
    waitLine: async (pattern, ms = 90_000) => {
      const found = (): RegExpExecArray | null =>
        lines.map((l) => pattern.exec(l)).find((m): m is RegExpExecArray => m !== null) ?? null;
      return waitFor(found, ms, `a line like ${pattern}`).catch((err: Error) => {
        child.kill('SIGKILL');
        throw new Error(`${err.message}; stdout:\n${lines.join('\n')}\nstderr:\n${stderr.slice(-2000)}`);
      });
    },
  };
}

/** The kimg of the run's newest checkpoint and its pause cause, as the database on disk has them. */
function onDisk(home: string): { state: string; pausedBy: string | null; ckptKimg: number | null } {
  const db = new Database(join(home, 'plumage.db'), { readonly: true });
  try {
    return db
      .prepare(
        `SELECT state, paused_by AS pausedBy, (SELECT kimg FROM checkpoints c WHERE c.run_id = r.id
           ORDER BY step DESC LIMIT 1) AS ckptKimg FROM runs r ORDER BY id DESC LIMIT 1`,
      )
      .get() as { state: string; pausedBy: string | null; ckptKimg: number | null };
  } finally {
    db.close();
  }
}

/** Trainer processes of this checkout alive now (other checkouts on a shared machine train too). */
const trainerPids = (): number[] => {
  try {
    return execFileSync('pgrep', ['-f', join(REPO_ROOT, 'dist/main/core/train/trainer.js')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};

/** `plumage train` on the sample plates, tiny, as typed in a terminal (text, not JSON). */
const trainText = (home: string, checkpointKimg = 50): string[] => trainArgs(home, checkpointKimg, { json: false });

const runsJson = async (home: string): Promise<(RunSummary & { interrupted: boolean; holder: unknown })[]> =>
  JSON.parse((await run(process.execPath, [CLI, 'runs', '--home', home, '--json'])).stdout) as (RunSummary & {
    interrupted: boolean;
    holder: unknown;
  })[];

test('Ctrl-C on plumage train says which run it pauses, at which kimg, and the command that resumes it — which does', async () => {
  const home = join(tmp.dir, 'train-home');
  const first = job(process.execPath, trainText(home));
  await first.waitLine(/^kimg \d/);
  // While it trains, `runs` names the process that holds the home.
  const { stdout: listing } = await run(process.execPath, [CLI, 'runs', '--home', home]);
  assert.match(listing, new RegExp(`#1 running .*\\n   training in pid ${first.child.pid} \\(plumage train`));
  process.kill(-first.child.pid!, 'SIGINT');
  assert.equal(await first.exited, 0);
  await first.waitLine(/^pausing run #1 \(tiny on sample-plates\)… finishing the step and writing a checkpoint$/);
  const [, kimg, resume] = await first.waitLine(/^run #1 paused: checkpoint at (\d+\.\d{3}) kimg; resume with (.+)$/);
  const disk = onDisk(home);
  assert.equal(kimg, disk.ckptKimg!.toFixed(3), 'the kimg said is the checkpoint written');
  assert.equal(disk.pausedBy, 'cli');
  assert.equal(
    resume,
    `plumage train --dataset ${SAMPLE_PLATES} --preset tiny --resolution 64 --crop centre --home ${home}`,
  );
  const [listed] = await runsJson(home);
  assert.deepEqual([listed!.state, listed!.pausedBy?.cause, listed!.resumeKimg], ['paused', 'cli', disk.ckptKimg]);

  // The printed command, typed into a shell where `plumage` is this checkout's CLI.
  const shell = `plumage() { exec '${process.execPath}' '${CLI}' "$@"; }; ${resume}`;
  const second = job('sh', ['-c', shell]);
  const [, from] = await second.waitLine(/^resuming run #1 at (\d+\.\d{3}) kimg$/);
  assert.equal(from, kimg, 'it resumes from the kimg the pause said');
  await second.waitLine(/^kimg \d/);
  process.kill(-second.child.pid!, 'SIGINT');
  assert.equal(await second.exited, 0);
  await second.waitLine(/^run #1 paused: checkpoint at \d+\.\d{3} kimg; resume with plumage train/);
});

test('kill -9 of plumage train: runs says no process holds the home and where the next start resumes it', async () => {
  const home = join(tmp.dir, 'killed-home');
  const args = trainText(home, 0.016); // a checkpoint every two steps
  const first = job(process.execPath, args);
  await first.waitLine(/^kimg \d/);
  await waitFor(() => onDisk(home).ckptKimg, 90_000, 'a checkpoint');
  process.kill(-first.child.pid!, 'SIGKILL');
  await first.exited;
  // Its trainer (a group of its own) sees its parent gone and ends; nothing writes any more.
  await waitFor(() => trainerPids().length === 0, 30_000, 'the orphaned trainer to exit');
  const ckpt = onDisk(home);
  assert.equal(ckpt.state, 'running', 'the database still says running: nothing was there to say otherwise');

  const { stdout } = await run(process.execPath, [CLI, 'runs', '--home', home]);
  assert.match(stdout, /^#1 interrupted tiny /m);
  assert.match(stdout, /no process holds the home: the one that trained run #1 is gone \(killed or crashed\)/);
  const [listed] = await runsJson(home);
  assert.equal(listed!.interrupted, true);
  assert.equal(listed!.holder, null);
  assert.match(stdout, new RegExp(`continues from ${listed!.resumeKimg.toFixed(3)} kimg\\.`));
  assert.ok(listed!.resumeKimg >= ckpt.ckptKimg!, 'from its newest checkpoint');

  const again = job(process.execPath, args);
  const [, from] = await again.waitLine(/^resuming run #1 at (\d+\.\d{3}) kimg$/);
  assert.equal(Number(from), listed!.resumeKimg);
  await again.waitLine(/^kimg \d/);
  process.kill(-again.child.pid!, 'SIGINT');
  assert.equal(await again.exited, 0);
});

/** `plumage serve --port 0` on `home`, and its URL once printed. */
async function serve(home: string): Promise<{ job: Job; url: URL }> {
  const j = job(process.execPath, [CLI, 'serve', '--port', '0', '--home', home]);
  const [line] = await j.waitLine(/^http:\/\/127\.0\.0\.1:\d+\/\?token=\S+$/, 30_000);
  return { job: j, url: new URL(line) };
}

const connect = apiSocket;

test('Ctrl-C on plumage serve pauses and reports each run; serve --port 0 comes back on the port it had', async () => {
  const home = join(tmp.dir, 'serve-home');
  const first = await serve(home);
  const api = await connect(first.url);
  const created = await tinyRunOnPlates(api.call);
  await api.call('startRun', { runId: created.id });
  await waitFor(() => api.events.some((e) => 'event' in e && e.event === 'runTick'), 90_000, 'a tick');
  process.kill(-first.job.child.pid!, 'SIGINT');
  assert.equal(await first.job.exited, 0);
  api.close();
  const out = first.job.lines.join('\n');
  assert.match(out, /^plumage serve: interrupted; stopping$/m);
  assert.match(out, /^pausing run #1 \(tiny on sample-plates\)… finishing the step and writing a checkpoint$/m);
  const disk = onDisk(home);
  assert.equal(disk.pausedBy, 'server');
  assert.ok(
    out.includes(
      `run #1 paused: checkpoint at ${disk.ckptKimg!.toFixed(3)} kimg; resume with Resume in the Training view once ` +
        `it serves again, or: plumage train --dataset ${SAMPLE_PLATES} --preset tiny --resolution 64 --crop centre ` +
        `--home ${home}`,
    ),
    out,
  );
  assert.match(out, /^plumage serve: stopped$/m);

  // Started again with --port 0: the same port, so the page left open finds it; the run says what paused it.
  const second = await serve(home);
  assert.equal(second.url.port, first.url.port);
  const again = await connect(second.url);
  const paused = (await again.call('getRun', { runId: created.id })) as RunSummary;
  assert.equal(paused.state, 'paused');
  assert.equal(paused.pausedBy?.cause, 'server');
  assert.equal(paused.resumeKimg, disk.ckptKimg);
  again.close();
  process.kill(-second.job.child.pid!, 'SIGINT');
  assert.equal(await second.job.exited, 0);

  // That port taken by something else: another is chosen, and said.
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(Number(first.url.port), '127.0.0.1', r));
  try {
    const third = await serve(home);
    assert.notEqual(third.url.port, first.url.port);
    assert.ok(
      third.job.lines.includes(
        `port ${first.url.port}, where this home was served last time, is in use: taking another`,
      ),
    );
    process.kill(-third.job.child.pid!, 'SIGTERM');
    assert.equal(await third.job.exited, 0);
    assert.match(third.job.lines.join('\n'), /^plumage serve: asked to stop; stopping$/m);
  } finally {
    squatter.close();
  }
});
