import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { CLI, tempDir } from '../helpers/paths.js';
import { trainArgs } from '../helpers/runs.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('cli-backend');
});
after(() => tmp.cleanup());

interface Row {
  state: string;
  backend: string | null;
  backend_kind: string | null;
  config: string;
}

const rowOf = (home: string): Row => {
  const db = new Database(join(home, 'plumage.db'), { readonly: true });
  try {
    return db.prepare('SELECT state, backend, backend_kind, config FROM runs ORDER BY id DESC LIMIT 1').get() as Row;
  } finally {
    db.close();
  }
};

/** `train` one step (8 images of the tiny preset) further, on `backend`; returns its JSON events. */
async function trainTo(home: string, kimg: number, backend: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await run(process.execPath, trainArgs(home, 0.008, { kimg, snapshotKimg: 1, backend }), {
    timeout: 240_000,
    maxBuffer: 16 << 20,
  });
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('train --backend on an existing run trains that resume on the backend asked for, and the run records it', async () => {
  const home = join(tmp.dir, 'home');
  const first = await trainTo(home, 0.008, 'wasm');
  assert.ok(first.some((e) => e.event === 'created'));
  assert.ok(first.some((e) => e.event === 'state' && e.state === 'done'));
  let row = rowOf(home);
  assert.equal(row.backend_kind, 'wasm');
  assert.match(String(row.backend), /^CPU \(WebAssembly\)( × 2 replicas)?$/, 'with the replicas this machine chose');

  // Resumed with another backend: one more step, on pure JS (the only other one every machine has).
  const second = await trainTo(home, 0.016, 'cpu');
  assert.ok(
    second.some((e) => e.event === 'resume'),
    `resume event (got ${second.map((e) => e.event).join(', ')})`,
  );
  const done = second.find((e) => e.event === 'state' && e.state === 'done');
  assert.ok(done, 'the resumed run finished');
  assert.match(String(done.backend), /pure JavaScript/, 'the state event names the backend it ran on');
  row = rowOf(home);
  assert.equal(row.backend_kind, 'cpu');
  assert.equal((JSON.parse(row.config) as { backend?: string }).backend, 'cpu', 'kept for later resumes');

  const { stdout } = await run(process.execPath, [CLI, 'runs', '--home', home, '--json']);
  const [listed] = JSON.parse(stdout) as { backend: string; backendKind: string; kimg: number }[];
  assert.equal(listed!.backendKind, 'cpu');
  assert.match(listed!.backend, /pure JavaScript/);
  assert.ok(listed!.kimg >= 0.016);
});
