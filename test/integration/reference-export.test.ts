// `plumage export-reference`: G, G_ema and D under the reference's names, nothing else, with the
// reference's constructor arguments; from a checkpoint as stored, from a pickle as converted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CHECKSUM_KEY, readSafetensors } from '../../main/core/netfile/safetensors.js';
import { CLI, tempDir } from '../helpers/paths.js';
import { PICKLES, expectedTensors } from '../helpers/pickles.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('refexport');
});
after(() => tmp.cleanup());

test('a checkpoint exports its G, G_ema and D tensors unchanged, and the arguments to rebuild them', async () => {
  const ckpt = join(tmp.dir, 'tiny.safetensors');
  const out = join(tmp.dir, 'for-reference.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '5', '--out', ckpt]);
  const { stdout } = await run(process.execPath, [CLI, 'export-reference', ckpt, '--out', out]);
  assert.match(stdout, /wrote .*for-reference\.safetensors \(G, G_ema, D: \d+ tensors/);
  const a = await readSafetensors(ckpt, { requireChecksum: true });
  const b = await readSafetensors(out, { requireChecksum: true });
  const kept = a.names.filter((n) => /^(G|G_ema|D)\./.test(n));
  assert.ok(
    a.names.some((n) => n.startsWith('opt.')),
    'the checkpoint has optimiser moments',
  );
  assert.deepEqual([...b.names].sort(), [...kept].sort(), 'the export has exactly G, G_ema and D');
  for (const n of kept) assert.deepEqual(await b.read(n), await a.read(n), n);
  const G = JSON.parse(b.metadata['reference.G_kwargs']!) as Record<string, unknown>;
  assert.deepEqual(G, {
    z_dim: 64,
    w_dim: 64,
    c_dim: 0,
    img_resolution: 32,
    img_channels: 3,
    mapping_kwargs: { num_layers: 2, lr_multiplier: 0.01, w_avg_beta: 0.995 },
    synthesis_kwargs: { channel_base: 512, channel_max: 64 },
  });
  assert.equal(b.metadata.format, 'pt');
});

test('a pickle exports as converted: the TF fixture becomes the reference state_dicts', async () => {
  const out = join(tmp.dir, 'tf.safetensors');
  await run(process.execPath, [CLI, 'export-reference', join(PICKLES, 'stylegan2-tf.pkl'), '--out', out]);
  const b = await readSafetensors(out, { requireChecksum: true });
  const want = expectedTensors();
  assert.deepEqual([...b.names].sort(), [...want.keys()].sort());
  for (const [n, t] of want) assert.deepEqual(await b.read(n), t.data, n);
});

test('export-reference refuses what is not a checkpoint, naming it', async () => {
  const err = await run(process.execPath, [
    CLI,
    'export-reference',
    join(PICKLES, 'conditional.pkl'),
    '--out',
    join(tmp.dir, 'x.safetensors'),
  ]).catch((e: { stderr: string }) => e);
  assert.match((err as { stderr: string }).stderr, /conditional\.pkl is a conditional network/);
});

test('init and export-reference answer --json with one object naming what they wrote', async () => {
  const ckpt = join(tmp.dir, 'json.safetensors');
  const out = join(tmp.dir, 'json-ref.safetensors');
  const init = await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '9', '--out', ckpt, '--json']);
  const made = JSON.parse(init.stdout) as Record<string, unknown>;
  const { size } = await stat(ckpt);
  assert.deepEqual(Object.keys(made).sort(), ['bytes', 'checksum', 'file', 'preset', 'seed']);
  assert.equal(made.file, ckpt);
  assert.equal(made.bytes, size);
  assert.equal(made.checksum, (await readSafetensors(ckpt, { requireChecksum: true })).metadata[CHECKSUM_KEY]);
  assert.equal(made.preset, 'tiny');
  assert.equal(made.seed, 9);
  const exp = await run(process.execPath, [CLI, 'export-reference', ckpt, '--out', out, '--json']);
  const wrote = JSON.parse(exp.stdout) as Record<string, unknown>;
  assert.deepEqual(wrote.networks, ['G', 'G_ema', 'D']);
  assert.equal(wrote.file, out);
  assert.equal(wrote.bytes, (await stat(out)).size);
  assert.equal(wrote.tensors, (await readSafetensors(out, { requireChecksum: true })).names.length);
});
