// scripts/test.js, the suites' runner, on test files written for it: a failure is shown whole
// and counted, and a file past its time is killed with everything it started, naming the test
// that hung.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';

const FILES: Record<string, string> = {
  'pass.test.js': "import { test } from 'node:test';\ntest('adds', () => {});\ntest('subtracts', () => {});\n",
  'fail.test.js':
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n" +
    "test('compares', () => assert.equal(1 + 1, 3, 'arithmetic is off'));\n",
  // Starts a process of its own (as a test starts a server), then never finishes.
  'hang.test.js':
    "import { test } from 'node:test';\nimport { spawn } from 'node:child_process';\n" +
    "import { writeFileSync } from 'node:fs';\n" +
    "test('quick', () => {});\n" +
    "test('waits forever', async () => {\n" +
    "  const child = spawn('sleep', ['600'], { stdio: 'ignore' });\n" +
    '  writeFileSync(process.env.PID_FILE, String(child.pid));\n' +
    '  await new Promise(() => {});\n' +
    '});\n',
};

test('fails loudly, kills a hung file with what it started, names the hung test, and counts', (t) => {
  const tmp = tempDir('runner');
  t.after(tmp.cleanup);
  mkdirSync(join(tmp.dir, 'unit'));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(tmp.dir, 'unit', name), text);
  const pidFile = join(tmp.dir, 'sleep.pid');
  const started = performance.now();
  const r = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'scripts', 'test.js'), '--dist', tmp.dir, '--timeout', '4', '--jobs', '3'],
    { encoding: 'utf8', env: { ...process.env, PID_FILE: pidFile }, timeout: 60_000 },
  );
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.ok(seconds < 30, `the hung file was ended at its limit (${seconds.toFixed(1)} s)`);
  assert.match(r.stdout, /^✔ unit\/pass\.test\.js .*\(2 tests\)$/m);
  assert.match(r.stdout, /^✖ unit\/fail\.test\.js .*1 of 1 tests failed$/m);
  assert.match(r.stdout, /arithmetic is off/, 'the failure is shown, not only counted');
  assert.match(
    r.stdout,
    /^✖ unit\/hang\.test\.js .*timed out after 4 s and was killed; still running: “waits forever”$/m,
  );
  assert.match(r.stdout, /^failed: .*unit\/fail\.test\.js/m);
  // A file that was killed counts as one failure (its report, and so its counts, never came).
  assert.match(r.stdout.trimEnd(), /\n2 passed, 2 failed, 0 skipped$/, 'the last line: the plain totals');
  // Killed, it may stay a zombie until init reaps it: that is gone too.
  const sleeper = Number(readFileSync(pidFile, 'utf8'));
  const state = (() => {
    try {
      return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${sleeper}/stat`, 'utf8'))?.[1];
    } catch {
      return 'gone';
    }
  })();
  assert.ok(state === 'gone' || state === 'Z', `the process the hung test started is gone too (state ${state})`);
});

test('a file asked for that does not exist is an error, not a smaller run', () => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'test.js'), 'unit/no-such-file'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no test file unit\/no-such-file/);
});
