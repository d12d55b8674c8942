import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { CLI, tempDir } from '../helpers/paths.js';

/**
 * A server stopped the moment it prints its URL is still starting up: it is opening the sample
 * plates (chokidar getting ready, the first decodes in flight). It must stop cleanly all the same.
 * Seen before the fix: killed by the signal itself (no listener yet), or it closed everything and
 * then never exited, because a watcher created after close held the event loop.
 */
test('serve stopped right after it starts exits cleanly, every time', async () => {
  const tmp = tempDir('serve-lifecycle');
  try {
    for (let i = 0; i < 4; i++) {
      const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--home', join(tmp.dir, `home-${i}`)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
        child.once('exit', (code, signal) => r([code, signal])),
      );
      await new Promise<void>((resolve) =>
        createInterface({ input: child.stdout }).on('line', (l) => l.startsWith('http://') && resolve()),
      );
      child.kill(i % 2 === 0 ? 'SIGTERM' : 'SIGINT');
      const timeout = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000).unref());
      const result = await Promise.race([exited, timeout]);
      if (result === 'hung') child.kill('SIGKILL');
      assert.deepEqual(result, [0, null], `start ${i}: serve did not exit 0 on its own; stderr: ${stderr}`);
    }
  } finally {
    tmp.cleanup();
  }
});

test('serve --json says each thing as one JSON object a line: serving (its URL answers), stopping, stopped', async () => {
  const tmp = tempDir('serve-json');
  try {
    const home = join(tmp.dir, 'home');
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--home', home, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const serving = new Promise<Record<string, unknown>>((resolve) =>
      createInterface({ input: child.stdout }).on('line', (l) => {
        lines.push(l);
        if (lines.length === 1) resolve(JSON.parse(l) as Record<string, unknown>);
      }),
    );
    const first = await serving;
    assert.equal(first.event, 'serving');
    assert.equal(first.home, home);
    assert.match(String(first.url), new RegExp(`^http://127\\.0\\.0\\.1:${String(first.port)}/`));
    const page = await fetch(String(first.url));
    assert.equal(page.status, 200);
    await page.arrayBuffer();
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    const events = lines.map((l) => JSON.parse(l) as { event: string; signal?: string });
    assert.deepEqual(
      events.map((e) => e.event),
      ['serving', 'stopping', 'stopped'],
    );
    assert.equal(events[1]!.signal, 'SIGINT');
  } finally {
    tmp.cleanup();
  }
});
