// `plumage train --from FILE.pkl --freeze-d N`: a new run starts from an NVIDIA pickle with its
// G, G_ema and D, records where it started and the Freeze-D setting, and its frozen layers come
// out of training as the pickle had them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { readSafetensors } from '../../main/core/netfile/safetensors.js';
import { CLI, SAMPLE_PLATES, tempDir } from '../helpers/paths.js';
import { PICKLES, expectedTensors } from '../helpers/pickles.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('pkl-train');
});
after(() => tmp.cleanup());

test('train --from a pickle --freeze-d 3: the run starts from its networks and keeps D’s first 3 layers', async () => {
  const home = join(tmp.dir, 'home');
  const pkl = join(PICKLES, 'network-snapshot-000120.pkl');
  const args = [
    'train',
    '--dataset',
    SAMPLE_PLATES,
    '--preset',
    'tiny',
    '--kimg',
    '0.016',
    '--checkpoint-kimg',
    '0.008',
  ];
  const { stdout } = await run(
    process.execPath,
    [CLI, ...args, '--from', pkl, '--freeze-d', '3', '--backend', 'wasm', '--home', home, '--json'],
    { timeout: 600_000, maxBuffer: 16 << 20 },
  );
  const events = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(
    events.some((e) => e.event === 'state' && e.state === 'done'),
    stdout,
  );
  const transfer = events.find((e) => e.event === 'transfer');
  assert.deepEqual(
    [transfer?.networks, transfer?.copied === transfer?.total, transfer?.augmentP, transfer?.kimg],
    [['G', 'G_ema', 'D'], true, 0.125, 120],
    'it says what it kept before it trains',
  );

  const db = new Database(join(home, 'plumage.db'), { readonly: true });
  const runRow = db.prepare('SELECT init_from, config FROM runs ORDER BY id DESC LIMIT 1').get() as {
    init_from: string;
    config: string;
  };
  const ckpt = db.prepare('SELECT path FROM checkpoints ORDER BY id DESC LIMIT 1').get() as { path: string };
  db.close();
  assert.equal(runRow.init_from, pkl, 'the run records where it started');
  assert.equal((JSON.parse(runRow.config) as { freezeD?: number }).freezeD, 3);

  const st = await readSafetensors(isAbsolute(ckpt.path) ? ckpt.path : join(home, ckpt.path), {
    requireChecksum: true,
  });
  const config = JSON.parse(st.metadata['plumage.config']!) as { plumage: { channelBase: number; zDim: number } };
  assert.deepEqual([config.plumage.channelBase, config.plumage.zDim], [256, 32], "the pickle's architecture");
  const want = expectedTensors();
  for (const name of ['D.b32.fromrgb.weight', 'D.b32.conv0.weight', 'D.b32.conv1.bias'])
    assert.deepEqual(await st.read(name), want.get(name)!.data, `${name} is frozen`);
  for (const name of ['D.b32.skip.weight', 'D.b4.out.weight', 'G.synthesis.b32.torgb.weight'])
    assert.notDeepEqual(await st.read(name), want.get(name)!.data, `${name} trained`);
});
