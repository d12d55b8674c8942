import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { RpcClient } from '../../main/core/util/child-rpc.js';
import { forkChild, type SpawnOptions } from '../../main/core/util/spawn-child.js';
import { AUTOGROUPS, autogroupOf } from '../helpers/autogroup.js';
import type { TestProtocol } from '../helpers/rpc-fixture.js';

// A niced child must run below the trainer, and the trainer has a session of its own. On Linux
// with autogroups (the desktop default) the CPU is shared equally between sessions before
// niceness counts, so a nice-19 scorer in the studio's session took half the cores from the
// trainer (kid-beside measured 1.77× slower). A child in its own session gets its niceness for
// that session too; the studio's own session is never lowered.

const CHILD = fileURLToPath(new URL('../helpers/rpc-child.js', import.meta.url));

async function withChild(opts: Omit<SpawnOptions, 'name'>, look: (pid: number) => void): Promise<void> {
  const child = forkChild(CHILD, { name: 'priority test child', ...opts });
  const client = new RpcClient<TestProtocol>(child, { name: 'priority test child' });
  try {
    await client.request('echo', { text: 'up' });
    look(child.pid!);
  } finally {
    const ended = new Promise<void>((resolve) => child.onExit(() => resolve()));
    child.end();
    await ended;
  }
}

test('a niced child in a group of its own is niced for its session too, and the studio is not', async () => {
  const before = autogroupOf('self');
  await withChild({ nice: 19, ownGroup: true }, (pid) => {
    assert.equal(getPriority(pid), 19);
    if (!AUTOGROUPS) return; // nothing shares by session here: niceness alone orders it
    const its = autogroupOf(pid)!;
    assert.notEqual(its.group, before!.group, 'a session of its own');
    assert.equal(its.nice, 19, 'its session runs below the trainer');
  });
  assert.deepEqual(autogroupOf('self'), before, "the studio's session keeps its niceness");
});

test("a niced child in the studio's session leaves that session's niceness alone", async () => {
  const before = autogroupOf('self');
  await withChild({ nice: 10 }, (pid) => {
    assert.equal(getPriority(pid), 10);
    if (AUTOGROUPS) assert.deepEqual(autogroupOf(pid), before, "the studio's session, unchanged");
  });
  assert.deepEqual(autogroupOf('self'), before);
});
