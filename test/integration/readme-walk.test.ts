/**
 * A new user's walk through the README's command lines, the way a shell runs them: `2>&1 | head`,
 * the README's `train --from` after a first run of the same folder, an empty folder, a folder
 * ingested with two crops. Each must end as the README says, with the file or flag named.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, tempDir, waitFor } from '../helpers/paths.js';
import { PLATE_NAMES, plate } from '../helpers/plates.js';

const exec = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let folder: string;
let home: string;

before(() => {
  tmp = tempDir('readme-walk');
  folder = join(tmp.dir, 'my plates');
  home = join(tmp.dir, 'home');
  mkdirSync(folder);
  for (const p of PLATE_NAMES.slice(0, 6)) copyFileSync(plate(p), join(folder, p));
});
after(() => tmp.cleanup());

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], timeout: number): Promise<Result> {
  try {
    const { stdout, stderr } = await exec(file, args, { env: { ...process.env, PLUMAGE_HOME: '' }, timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as Result & { killed?: boolean };
    assert.ok(!e.killed, `${args.join(' ')} did not finish within ${timeout} ms`);
    return e;
  }
}

const plumage = (args: string[], timeout = 60_000): Promise<Result> => run(process.execPath, [CLI, ...args], timeout);

interface RunJson {
  id: number;
  state: string;
  kimg: number;
  lastCheckpoint: string | null;
  startedFrom: { file: string } | null;
}
const runs = async (): Promise<RunJson[]> =>
  JSON.parse((await plumage(['runs', '--home', home, '--json'])).stdout) as RunJson[];

test('train … 2>&1 | head pauses the run with a checkpoint and exits 0, as a closed stdout alone does', async () => {
  // stderr is the same closed pipe: the trainer's backend line written there must not crash the CLI.
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const line =
    `${q(process.execPath)} ${q(CLI)} train --dataset ${q(folder)} --preset tiny --kimg 1 --home ${q(home)}` +
    ` 2>&1 | head -3; exit "\${PIPESTATUS[0]}"`;
  const r = await run('bash', ['-c', line], 120_000);
  assert.equal(r.code, 0, `train exits 0 when its reader goes away (got ${r.code}: ${r.stdout})`);
  const [first] = await runs();
  assert.equal(first?.state, 'paused', 'the run is paused, not left interrupted');
  assert.ok(first.lastCheckpoint && existsSync(first.lastCheckpoint), 'the pause wrote a checkpoint');
});

test('train --from FILE on a folder with a paused run starts a new run from FILE (the README order)', async () => {
  const before = await runs();
  assert.equal(before.length, 1, 'the first test left one paused run');
  // A file that is no network: refused by name, and the paused run is left as it was (not resumed).
  const bad = join(tmp.dir, 'not a network.safetensors');
  writeFileSync(bad, '{"this is": "text"}');
  const refused = await plumage(['train', '--dataset', folder, '--preset', 'tiny', '--from', bad, '--home', home]);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /not a network\.safetensors/);
  assert.doesNotMatch(refused.stdout, /resuming run/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(
    (await runs()).map((r) => [r.id, r.state, r.kimg]),
    before.map((r) => [r.id, r.state, r.kimg]),
  );

  const start = join(tmp.dir, 'start.safetensors');
  assert.equal((await plumage(['init', '--preset', 'tiny', '--seed', '1', '--out', start])).code, 0);
  const fresh = await plumage(
    ['train', '--dataset', folder, '--preset', 'tiny', '--from', start, '--kimg', '0.008', '--home', home],
    240_000,
  );
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stdout, /created run #2/);
  const after = await runs();
  const second = after.find((r) => r.id === 2);
  assert.equal(second?.startedFrom?.file, start, 'run #2 started from the file asked for');
  assert.deepEqual(
    [after.find((r) => r.id === 1)?.state, after.find((r) => r.id === 1)?.kimg],
    [before[0]!.state, before[0]!.kimg],
    'the paused run was not resumed',
  );
});

test('train on an empty folder names the folder and says what it holds', async () => {
  const empty = join(tmp.dir, 'empty ø');
  mkdirSync(empty);
  writeFileSync(join(empty, 'notes.png'), 'a text file with a .png name');
  const r = await plumage(['train', '--dataset', empty, '--preset', 'tiny', '--home', join(tmp.dir, 'home-empty')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /empty ø/, r.stderr);
  assert.match(r.stderr, /notes\.png/, 'the rejected file is named');
});

test('export-dataset of a folder ingested with two crops at one resolution: --crop chooses, else both are named', async () => {
  const h = join(tmp.dir, 'home-crops');
  for (const crop of ['subject', 'centre'])
    assert.equal((await plumage(['ingest', folder, '--resolution', '64', '--crop', crop, '--home', h])).code, 0);
  const out = join(tmp.dir, 'exports new');
  const both = await plumage(['export-dataset', '--dataset', folder, '--resolution', '64', '--out', out, '--home', h]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /crop subject/);
  assert.match(both.stderr, /crop centre/);
  assert.match(both.stderr, /--crop/);
  const one = await plumage(['export-dataset', '--dataset', folder, '--crop', 'subject', '--out', out, '--home', h]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /\.zip/);
});

test('metrics --run N says once that it computes a score the run has not stored', async () => {
  // Run #2 of the --from test: trained a tick, scored by nobody.
  const r = await plumage(['metrics', '--run', '2', '--images', '8', '--home', home], 180_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/computing it now/g)?.length, 1, r.stderr);
  assert.match(r.stdout, /Plumage KID/);
});

test('train on a paused run with new-run settings resumes it and says which of them it keeps its own', async () => {
  // Run #1 is paused (first test). --seed and --checkpoint-kimg belong to a new run: the resume must
  // say it keeps its own rather than take the flags in silence.
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const line =
    `${q(process.execPath)} ${q(CLI)} train --dataset ${q(folder)} --preset tiny --seed 5 --checkpoint-kimg 0.3` +
    ` --home ${q(home)} 2>/dev/null | head -4; exit "\${PIPESTATUS[0]}"`;
  const r = await run('bash', ['-c', line], 120_000);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /resuming run #1/);
  assert.match(r.stdout, /run #1 keeps its own .*seed \d+ \(not --seed 5\)/, r.stdout);
  assert.match(r.stdout, /checkpoint every [\d.]+ kimg \(not --checkpoint-kimg 0\.3\)/, r.stdout);
  assert.equal((await runs()).find((x) => x.id === 1)?.state, 'paused');
});

test('generate and interpolate answer --json as every command does, with the files they wrote', async () => {
  const start = join(tmp.dir, 'start.safetensors'); // written by the --from test
  const out = join(tmp.dir, 'prints', 'not yet');
  const g = await plumage(['generate', '--checkpoint', start, '--seeds', '0-1', '--out', `${out}/`, '--json']);
  assert.equal(g.code, 0, g.stderr);
  const drawn = JSON.parse(g.stdout) as { files: string[]; outDir: string };
  assert.deepEqual(drawn.files, [join(out, 'seed0000.png'), join(out, 'seed0001.png')]);
  for (const f of drawn.files) assert.ok(existsSync(f), f);
  for (const seed of ['1', '2'])
    assert.equal((await plumage(['favourite', 'add', '--checkpoint', start, '--seed', seed, '--home', home])).code, 0);
  const favs = JSON.parse((await plumage(['favourite', 'list', '--home', home, '--json'])).stdout) as { id: number }[];
  const ids = favs.map((f) => f.id).join(',');
  const i = await plumage([
    'interpolate',
    '--favourites',
    ids,
    '--frames',
    '3',
    '--format',
    'gif',
    '--out',
    out,
    '--home',
    home,
    '--json',
  ]);
  assert.equal(i.code, 0, i.stderr);
  const anim = JSON.parse(i.stdout) as { files: string[] };
  assert.equal(anim.files.length, 1);
  assert.ok(existsSync(anim.files[0]!), anim.files[0]);
});

test('project stopped by Ctrl-C (the process group) writes nothing, not even the --out folders it made', async () => {
  const start = join(tmp.dir, 'start.safetensors'); // written by the --from test
  const out = join(tmp.dir, 'projections', 'not yet');
  const child = spawn(
    process.execPath,
    [CLI, 'project', '--checkpoint', start, '--image', plate(PLATE_NAMES[0]!), '--steps', '5000', '--out', out],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLUMAGE_HOME: join(tmp.dir, 'h-p') } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  await waitFor(() => /step \d+\/5000/.test(stderr), 120_000, 'the first projection step');
  process.kill(-child.pid!, 'SIGINT');
  const code = await exited;
  assert.notEqual(code, 0);
  assert.match(stderr, /nothing was written/);
  assert.equal(existsSync(join(tmp.dir, 'projections')), false, 'the folders made for it are gone too');
});
