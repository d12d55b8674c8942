import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { CLI, tempDir, waitFor } from '../helpers/paths.js';
import { PLATE_NAMES, plate } from '../helpers/plates.js';

const exec = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let folder: string;
let home: string;

before(() => {
  tmp = tempDir('cli-messages');
  folder = join(tmp.dir, 'plates');
  home = join(tmp.dir, 'home');
  mkdirSync(folder);
  for (const p of PLATE_NAMES.slice(0, 6)) copyFileSync(plate(p), join(folder, p));
  writeFileSync(join(tmp.dir, 'a-file.txt'), 'not a folder');
});
after(() => tmp.cleanup());

async function plumage(args: string[], timeout = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], {
      env: { ...process.env, PLUMAGE_HOME: '' },
      timeout,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string; killed?: boolean };
    assert.ok(!e.killed, `plumage ${args.join(' ')} did not finish within ${timeout} ms`);
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const COMMANDS = ['ingest', 'serve', 'train', 'runs', 'init', 'generate', 'backend'];

test('every subcommand answers --help with its own usage, exit 0, and loads nothing heavy', async () => {
  for (const name of COMMANDS) {
    const { code, stdout, stderr } = await plumage([name, '--help']);
    assert.equal(code, 0, name);
    assert.match(stdout, new RegExp(`^Usage: plumage ${name}\\b`), name);
    assert.equal(stderr, '', `${name} --help prints no backend line or warning`);
    // Its own usage, not the whole list.
    for (const other of COMMANDS.filter((c) => c !== name && !name.includes(c) && !c.includes(name)))
      assert.doesNotMatch(stdout, new RegExp(`Usage: plumage ${other}\\b`), `${name} --help`);
  }
  const top = await plumage(['--help']);
  for (const name of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'));
  assert.match((await plumage(['help', 'train'])).stdout, /^Usage: plumage train/);
});

test('--help and usage errors answer before tfjs loads (every test and user pays for each start)', async () => {
  // Preloaded into the CLI's process: at exit it writes the CommonJS modules node loaded (tfjs
  // is CommonJS; the require cache holds it even when it was imported).
  const probe = join(tmp.dir, 'probe.mjs');
  const loaded = join(tmp.dir, 'loaded.txt');
  writeFileSync(
    probe,
    `import { createRequire } from 'node:module';\nimport { writeFileSync } from 'node:fs';\n` +
      `const require = createRequire(import.meta.url);\n` +
      `process.on('exit', () => writeFileSync(${JSON.stringify(loaded)}, ['exited', ...Object.keys(require.cache)].join('\\n')));\n`,
  );
  const lines: [string[], number][] = [
    [['train', '--help'], 0],
    [['metrics', '--help'], 0],
    [['train', '--dataset', folder, '--kimg', '-3'], 2],
    [['ingest', folder, '--resolution', '300'], 2],
    [['runs', '--bogus'], 2],
    [['project', '--run', '1'], 2],
  ];
  for (const [args, exit] of lines) {
    writeFileSync(loaded, '');
    const child = await exec(process.execPath, ['--import', probe, CLI, ...args]).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    assert.equal(child, exit, args.join(' '));
    const modules = readFileSync(loaded, 'utf8');
    assert.ok(modules.startsWith('exited'), `the probe saw plumage ${args.join(' ')} exit`);
    assert.doesNotMatch(modules, /@tensorflow/, `plumage ${args.join(' ')} loaded tfjs`);
  }
});

test('a usage error prints one line naming the problem and pointing at --help (exit 2)', async () => {
  const d = ['train', '--dataset', folder, '--home', home];
  const cases: [string[], RegExp][] = [
    [[...d, '--kimg', '-3'], /--kimg must be a positive number \(got -3\)/],
    [[...d, '--kimg', 'lots'], /--kimg must be a number \(got "lots"\)/],
    [[...d, '--snapshot-kimg', '0'], /--snapshot-kimg must be at least 0\.001 kimg/],
    [[...d, '--snapshot-kimg', '1e-9'], /--snapshot-kimg must be at least 0\.001 kimg/],
    [[...d, '--checkpoint-kimg', 'NaN'], /--checkpoint-kimg must be a number/],
    [[...d, '--seed', '-1'], /--seed must be between 0 and 2147483647 \(got -1\)/],
    [[...d, '--seed', '1.5'], /--seed must be a whole number/],
    [[...d, '--replicas', '0'], /--replicas must be between 1 and 16 \(got 0\)/],
    [[...d, '--replicas', '2.5'], /--replicas must be a whole number/],
    [[...d, '--checkpoint-minutes', '0'], /--checkpoint-minutes must be at least 0\.05/],
    [[...d, '--preset', 'huge'], /--preset must be one of tiny, 64, 128, 256, 512, 1024 \(got huge\)/],
    [[...d, '--crop', 'zoom'], /--crop must be one of centre, subject, pad/],
    [[...d, '--preset', '128', '--resolution', '64'], /--resolution 64 cannot feed the 128 preset/],
    [['train', '--home', home], /--dataset <folder> is required/],
    [['ingest', folder, '--resolution', '300'], /--resolution must be one of 64, 128, 256, 512, 1024 \(got 300\)/],
    [['ingest', folder], /--resolution 64\|128\|256\|512\|1024 is required/],
    [['ingest', '--resolution', '64'], /<folder> is required/],
    [['ingest', folder, folder, '--resolution', '64'], /takes one <folder>, got 2/],
    [['ingest', folder, '--resolution', '64', '--bogus'], /unknown option --bogus/],
    [['ingest', folder, '--resolution'], /--resolution needs a value/],
    [['init', '--preset', 'tiny', '--seed', 'x', '--out', join(tmp.dir, 'x.safetensors')], /--seed must be a number/],
    [['generate', '--checkpoint', 'c', '--out', 'o', '--psi', 'abc'], /--psi must be a number/],
    [['generate', '--checkpoint', 'c', '--out', 'o', '--noise', 'loud'], /--noise must be const or random/],
    // The gallery's and exports' flags are checked by the request fields the app uses (one range each).
    [['generate', '--checkpoint', 'c', '--psi', '1.5'], /--psi must be a number from 0 to 1\.2 \(got 1\.5\)/],
    [['generate', '--checkpoint', 'c', '--seeds', 'x'], /--seeds must look like 0-7 or 1,5,9-11, got "x"/],
    [['generate', '--checkpoint', 'c', '--seeds', '9-3'], /--seeds bad seed range 9-3/],
    [['generate', '--run', '0'], /--run must be a positive whole number \(got 0\)/],
    [['generate', '--run', '1', '--kimg=-2'], /--kimg must be a number from 0 to 1000000 \(got -2\)/],
    [
      ['favourite', 'add', '--checkpoint', 'c', '--seed', '4294967296'],
      /--seed must be a whole number in 0\.\.4294967295/,
    ],
    [['favourite', 'list', '--sort', 'colour'], /--sort must be one of created, name, seed, kimg \(got colour\)/],
    [['favourite', 'remove', 'x'], /the favourite id must be a positive whole number \(got x\)/],
    [['interpolate', '--favourites', '1,2', '--frames', '1'], /--frames must be a number from 2 to 1000 \(got 1\)/],
    [
      ['interpolate', '--favourites', '1,2', '--fps', '0'],
      /--fps must be from 0.016 to 60 \(a frame can stay at most 65 seconds\) \(got 0\)/,
    ],
    [['interpolate', '--favourites', '1,2', '--format', 'strip'], /--format must be one of webp, gif, mp4, png/],
    [['export', '--favourites', '1', '--dpi', '2400'], /--dpi must be a whole number from 1 to 1200 \(got 2400\)/],
    [['export', '--favourites', '1', '--dpi', '300.5'], /--dpi must be a whole number from 1 to 1200/],
    [['export', '--favourites', '1', '--paper', 'B7'], /--paper must be one of A5, A4, A3, A2, Letter, Tabloid or WxH/],
    [
      ['export', '--favourites', '1', '--paper', '10x100'],
      /--paper custom paper width must be 20–1500 mm \(got 10x100\)/,
    ],
    [['export', '--favourites', '1', '--margin=-1'], /--margin must be 0 mm or more \(got -1\)/],
    [['export', '--favourites', '1', '--orientation', 'sideways'], /--orientation must be one of portrait, landscape/],
    [['export', '--favourites', '0'], /--favourites must be a positive whole number \(got 0\)/],
    [
      ['export-timelapse', '--run', '1', '--fps', '0'],
      /--fps must be from 0.016 to 60 \(a frame can stay at most 65 seconds\) \(got 0\)/,
    ],
    [['serve', '--port', '70000'], /--port must be 0–65535 \(0 = any free port\) \(got 70000\)/],
    [['serve', '--port', 'http'], /--port must be a number/],
    [['frobnicate'], /^plumage: unknown command "frobnicate" \(see plumage --help\)$/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stdout, stderr } = await plumage(args);
    const what = `plumage ${args.join(' ')}`;
    assert.equal(code, 2, `${what}: ${stderr}`);
    assert.equal(stdout, '', what);
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${what}: one line, got ${JSON.stringify(stderr)}`);
    assert.match(lines[0]!, pattern, what);
    assert.match(lines[0]!, /\(see plumage( [\w-]+)? --help\)$/, what);
  }
});

test('missing files and folders are named plainly, before any backend starts (exit 1)', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['generate', '--checkpoint', join(tmp.dir, 'gone.safetensors'), '--out', join(tmp.dir, 'out')],
      /no such file: .*gone\.safetensors/,
    ],
    [['generate', '--checkpoint', tmp.dir, '--out', join(tmp.dir, 'out')], /is a folder, not a checkpoint file/],
    [['train', '--dataset', join(tmp.dir, 'a-file.txt'), '--home', home], /a-file\.txt is a file, not a folder/],
    [['train', '--dataset', join(tmp.dir, 'nope'), '--home', home], /folder not found: .*nope/],
    [['ingest', join(tmp.dir, 'a-file.txt'), '--resolution', '64', '--home', home], /is a file, not a folder/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await plumage(args);
    const what = `plumage ${args.join(' ')}`;
    assert.equal(code, 1, `${what}: ${stderr}`);
    assert.match(stderr, pattern, what);
    assert.doesNotMatch(stderr, /ENOENT|training backend|at .*\.js:\d+/, `${what}: no raw error, no backend line`);
    assert.equal(stderr.trimEnd().split('\n').length, 1, what);
  }
});

test('a home where no folder can be made (/proc/nope) exits 1 at once instead of spinning', async () => {
  const started = Date.now();
  const { code, stderr } = await plumage(['ingest', folder, '--resolution', '64', '--home', '/proc/nope'], 20_000);
  assert.equal(code, 1);
  assert.match(stderr, /cannot write to the Plumage home \/proc\/nope/);
  assert.ok(Date.now() - started < 20_000);
});

test("train reuses the folder's dataset (and its crop), says which, and a closed stdout pauses it with a checkpoint", async () => {
  const ingested = await plumage(['ingest', folder, '--resolution', '64', '--crop', 'pad', '--home', home, '--json']);
  assert.equal(ingested.code, 0, ingested.stderr);
  const args = [CLI, 'train', '--dataset', folder, '--home', home, '--kimg', '100', '--json'];
  const child = spawn(process.execPath, [...args, '--snapshot-kimg', '50', '--checkpoint-kimg', '50'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (l) => events.push(JSON.parse(l) as Record<string, unknown>));
  // As `| head -5`: read until the first tick, then close the reading end.
  await waitFor(() => events.some((e) => e.event === 'tick'), 90_000, 'the first tick').catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}; events ${JSON.stringify(events)}; stderr ${stderr}`);
  });
  lines.close();
  child.stdout.destroy();
  const reuse = events.find((e) => e.event === 'reuse');
  assert.ok(reuse, `a reuse event (got ${events.map((e) => e.event).join(', ')})`);
  assert.equal(reuse.crop, 'pad', 'the crop chosen with ingest');
  assert.equal(reuse.resolution, 64);
  const ds = events.find((e) => e.event === 'dataset');
  assert.equal(ds?.crop, 'pad');

  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /stdout was closed: pausing run #1 with a checkpoint/);
  // The pause says where it resumes from and the command that does it (afar-processes runs that command).
  assert.match(stderr, /run #1 paused: (checkpoint at|no checkpoint yet, so it starts again from) [\d.]+ kimg; /);
  assert.match(stderr, /; resume with plumage train --dataset .+ --preset tiny --resolution 64 --crop pad --home /);
  assert.doesNotMatch(stderr, /EPIPE|Error:/);
  const runs = JSON.parse((await plumage(['runs', '--home', home, '--json'])).stdout) as {
    state: string;
    kimg: number;
    lastCheckpoint: string | null;
  }[];
  assert.equal(runs.length, 1, 'one run: no second dataset or run was made');
  assert.equal(runs[0]!.state, 'paused');
  assert.ok(runs[0]!.kimg > 0 && runs[0]!.lastCheckpoint, 'paused at a checkpoint');
});
