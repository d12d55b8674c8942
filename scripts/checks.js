// Runs npm scripts side by side (one per core) and shows each one's output whole when it ends,
// with its time: `npm test` runs lint, typecheck and build this way before the tests, since none
// of them needs another's result and each is mostly one thread.
//
//   node scripts/checks.js SCRIPT…
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';

const scripts = process.argv.slice(2);
if (scripts.length === 0) throw new Error('usage: node scripts/checks.js SCRIPT…');
const jobs = Math.max(1, availableParallelism());
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function runScript(name) {
  const started = performance.now();
  const child = spawn(npm, ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((done) =>
    child.on('close', (code, signal) => {
      const s = ((performance.now() - started) / 1000).toFixed(1);
      const ok = code === 0;
      console.log(`${ok ? '✔' : '✖'} npm run ${name}  ${s} s${ok ? '' : `  (${signal ?? `exit ${code}`})`}`);
      if (!ok || output.trim()) console.log(output.trimEnd().replace(/^(?=.)/gm, '    '));
      done(ok);
    }),
  );
}

const queue = [...scripts];
const results = await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    const oks = [];
    while (queue.length > 0) oks.push(await runScript(queue.shift()));
    return oks;
  }),
);
const failed = results.flat().filter((ok) => !ok).length;
console.log(
  `checks: ${scripts.join(', ')}: ${failed ? `${failed} failed` : 'passed'} (load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})`,
);
process.exit(failed ? 1 : 0);
