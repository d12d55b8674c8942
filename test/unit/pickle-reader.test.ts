// NVIDIA's network pickles: the fixtures (our own networks, NVIDIA's structure) read back to the
// tensor, every refusal of the issue, and hostile pickles refused in bounded time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNetworkPickle, readNetworkPickle, summary } from '../../main/core/netfile/pickle/index.js';
import { unpickle } from '../../main/core/netfile/pickle/unpickler.js';
import { tempDir } from '../helpers/paths.js';
import { PICKLES, expectedTensors, legacyStorage, persistent, pickle, tensor } from '../helpers/pickles.js';

const fixture = (name: string): string => join(PICKLES, name);

async function assertSameTensors(file: string): Promise<void> {
  // the fixtures' tensors are small: 64 bytes makes all of them take the read-from-file path too
  for (const lazyBytes of [undefined, 64]) {
    const p = await readNetworkPickle(file, { lazyBytes });
    const want = expectedTensors();
    assert.deepEqual([...p.names].sort(), [...want.keys()].sort(), 'the same tensor names as the state_dicts');
    for (const [name, t] of want) {
      assert.deepEqual(p.shape(name), t.shape, name);
      assert.deepEqual(p.read(name), t.data, name); // bit for bit
    }
  }
}

test('a stylegan2-ada-pytorch snapshot reads back tensor by tensor, with its config, kimg and ADA p', async () => {
  await assertSameTensors(fixture('network-snapshot-000120.pkl'));
  const p = await readNetworkPickle(fixture('network-snapshot-000120.pkl'));
  assert.equal(p.kind, 'stylegan2-ada-pytorch');
  assert.deepEqual(p.networks, ['G_ema', 'G', 'D']);
  assert.equal(p.kimg, 120);
  assert.equal(p.augmentP, 0.125);
  const c = p.config;
  assert.deepEqual(
    [c.resolution, c.zDim, c.wDim, c.mappingLayers, c.channelBase, c.channelMax, c.imgChannels, c.mbstdGroupSize],
    [32, 32, 32, 2, 256, 16, 3, 4],
  );
  assert.equal(c.mappingLrMultiplier, 0.01);
  assert.match(summary(p), /StyleGAN2-ADA \(PyTorch\) network, 32², G_ema, G, D, 120 kimg, ADA p 0\.125/);
});

test('storages written as zip-format torch.save blobs read the same', async () => {
  await assertSameTensors(fixture('zip-storages.pkl'));
  assert.equal((await readNetworkPickle(fixture('zip-storages.pkl'))).kimg, null); // not a snapshot's name
});

test("a TensorFlow (G, D, Gs) pickle converts to the reference's names and layouts, equal to the fixture's", async () => {
  await assertSameTensors(fixture('stylegan2-tf.pkl'));
  const p = await readNetworkPickle(fixture('stylegan2-tf.pkl'));
  assert.equal(p.kind, 'stylegan2-tf');
  assert.equal(p.config.channelBase, 256); // fmap_base 128 × 2
  assert.equal(p.augmentP, null);
});

test('Freeze-D snapshots (frozen layers kept as buffers) read all of D', async () => {
  const p = await readNetworkPickle(fixture('freezed-d.pkl'));
  assert.deepEqual(p.networks, ['G_ema', 'G', 'D']);
  assert.ok(p.names.includes('D.b8.fromrgb.weight') && p.names.includes('D.b8.conv0.weight'));
});

test('networks Plumage cannot draw are refused with one sentence naming the file and what it is', async () => {
  const cases: [string, RegExp][] = [
    ['conditional.pkl', /conditional\.pkl is a conditional network \(4 classes\)/],
    ['tf-conditional.pkl', /tf-conditional\.pkl is a conditional network \(10 classes\)/],
    ['stylegan3-t.pkl', /stylegan3-t\.pkl is a StyleGAN3 network \(the alias-free config t\)/],
    ['stylegan1-tf.pkl', /stylegan1-tf\.pkl holds a StyleGAN \(version 1\) network/],
  ];
  for (const [name, re] of cases) await assert.rejects(readNetworkPickle(fixture(name)), re, name);
  const progan = pickle({ tuple: [{ call: 'tfutil.Network', args: [] }] });
  assert.throws(() => parseNetworkPickle(progan, 'karras2018.pkl'), /karras2018\.pkl holds a ProGAN/);
});

test('truncated, damaged and foreign files are refused, naming the file', async () => {
  const whole = readFileSync(fixture('network-snapshot-000120.pkl'));
  for (const cut of [1, 100, whole.length >> 1, whole.length - 1])
    assert.throws(
      () => parseNetworkPickle(whole.subarray(0, cut), 'cut.pkl'),
      /^NetworkFileError: cut\.pkl is (truncated|damaged)/,
    );
  const damaged = Buffer.from(whole);
  // in the opcodes (damage inside raw tensor bytes cannot be told: pickles carry no checksum)
  damaged.fill(0xff, 20, 84);
  assert.throws(() => parseNetworkPickle(damaged, 'bad.pkl'), /bad\.pkl is (damaged|truncated)/);
  assert.throws(
    () => parseNetworkPickle(pickle({ list: [1, 2, 3] }), 'list.pkl'),
    /list\.pkl holds no StyleGAN2 networks \(it is a list of 3\)/,
  );
  assert.throws(
    () => parseNetworkPickle(pickle({ dict: [['model', 'resnet50']] }), 'other.pkl'),
    /other\.pkl holds no StyleGAN2 networks \(it is a dict with keys model\)/,
  );
  assert.throws(
    () => parseNetworkPickle(Buffer.from('PK\x03\x04rest', 'latin1'), 'ckpt.pt'),
    /ckpt\.pt is a zip archive/,
  );
  assert.throws(() => parseNetworkPickle(Buffer.alloc(0), 'empty.pkl'), /empty\.pkl is empty/);
  assert.throws(() => parseNetworkPickle(Buffer.from('hello'), 'notes.txt'), /notes\.txt is not a pickle/);
  const tmp = tempDir('pkl');
  try {
    writeFileSync(join(tmp.dir, 'x.pkl'), whole.subarray(0, 4096));
    await assert.rejects(readNetworkPickle(join(tmp.dir, 'x.pkl')), /x\.pkl is truncated/);
    await assert.rejects(readNetworkPickle(join(tmp.dir, 'absent.pkl')), /cannot open .*absent\.pkl: no such file/);
    // tensors are read from the file when asked for: a file replaced in between is not read
    const copy = join(tmp.dir, 'network-snapshot-000120.pkl');
    writeFileSync(copy, whole);
    const p = await readNetworkPickle(copy, { lazyBytes: 64 });
    writeFileSync(copy, Buffer.concat([whole, Buffer.from([0])]));
    assert.throws(
      () => p.read('G_ema.synthesis.b32.conv1.weight'),
      /network-snapshot-000120\.pkl changed on disk since it was opened/,
    );
  } finally {
    tmp.cleanup();
  }
});

// ── hostile pickles ─────────────────────────────────────────────────────────────────────

test('a pickle that calls anything outside the known globals is refused by name, before it runs', () => {
  const calls: [string, RegExp][] = [
    ['os.system', /evil\.pkl calls os\.system: not a StyleGAN2 network/],
    ['posix.system', /calls posix\.system/],
    ['builtins.eval', /calls builtins\.eval/], // a __reduce__ to a builtin
    ['builtins.exec', /calls builtins\.exec/],
    ['builtins.getattr', /calls builtins\.getattr/],
    ['subprocess.Popen', /calls subprocess\.Popen/],
    ['torch.load', /calls torch\.load/],
  ];
  for (const [fn, re] of calls)
    assert.throws(() => parseNetworkPickle(pickle({ call: fn, args: ['touch /tmp/pwned'] }), 'evil.pkl'), re);
  // inside a network, where a real attack would hide it
  const hidden = pickle({
    dict: [['G_ema', persistent('Generator', [['_init_kwargs', { call: 'os.system', args: ['x'] }]])]],
  });
  assert.throws(() => parseNetworkPickle(hidden, 'evil.pkl'), /calls os\.system/);
  // STACK_GLOBAL spells it with two strings
  const stack = Buffer.concat([
    Buffer.from([0x80, 4, 0x8c, 8]),
    Buffer.from('builtins'),
    Buffer.from([0x8c, 4]),
    Buffer.from('eval'),
    Buffer.from([0x93, 0x29, 0x52, 0x2e]),
  ]);
  assert.throws(() => parseNetworkPickle(stack, 'evil.pkl'), /calls builtins\.eval/);
});

test('a storage declaring 10 GB is refused from its header, without allocating', { timeout: 10_000 }, () => {
  const before = process.memoryUsage().arrayBuffers;
  const numel = 2.5e9; // 10 GB of float32
  const blob = legacyStorage(numel, new Float32Array(4));
  const bomb = pickle({
    dict: [['G_ema', persistent('Generator', [['_parameters', { dict: [['w', tensor(blob, [50000, 50000])]] }]])]],
  });
  assert.throws(
    () => parseNetworkPickle(bomb, 'big.pkl'),
    /big\.pkl is damaged or not a network pickle: a tensor storage declares 2500000000 elements \(10000000000 bytes\) where 16 bytes remain/,
  );
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20, 'no large allocation');
  // a tensor whose shape overruns its (honest) storage
  const small = legacyStorage(4, new Float32Array(4));
  const over = pickle({
    dict: [['G_ema', persistent('Generator', [['_parameters', { dict: [['w', tensor(small, [1000, 1000])]] }]])]],
  });
  assert.throws(
    () => parseNetworkPickle(over, 'over.pkl'),
    /a tensor of shape \[1000,1000\] does not fit its storage of 4 elements/,
  );
});

test('deep nesting is refused in bounded time', { timeout: 10_000 }, () => {
  const marks = Buffer.concat([Buffer.from([0x80, 4]), Buffer.alloc(1_000_000, 0x28)]); // a million MARKs
  assert.throws(() => parseNetworkPickle(marks, 'deep.pkl'), /deep\.pkl is refused: nested more than 1000 deep/);
  // lists inside lists without marks: built as references, then rejected for what it is
  const n = 1_000_000;
  const chain = Buffer.concat([Buffer.from([0x80, 4, 0x5d]), Buffer.alloc(n * 2, 0), Buffer.from([0x2e])]);
  for (let i = 0; i < n; i++) chain.set([0x5d, 0x61], 3 + i * 2); // push [], append it to the list below
  assert.throws(() => parseNetworkPickle(chain, 'chain.pkl'), /is damaged|holds no StyleGAN2 networks/);
});

test('memo bombs are refused or stay linear', { timeout: 15_000 }, () => {
  // 2^60 logical elements: each list holds the previous one twice (references, never copies)
  const parts: Buffer[] = [Buffer.from([0x80, 4, 0x5d, 0x94, 0x30])]; // [], memo 0, pop
  for (let i = 1; i < 60; i++)
    parts.push(
      Buffer.from([0x5d, 0x28, 0x6a]),
      u32le(i - 1),
      Buffer.from([0x6a]),
      u32le(i - 1),
      Buffer.from([0x65, 0x94, 0x30]), // APPENDS, memo i, pop
    );
  parts.push(Buffer.from([0x6a]), u32le(59), Buffer.from([0x2e]));
  const t0 = Date.now();
  assert.throws(
    () => parseNetworkPickle(Buffer.concat(parts), 'laughs.pkl'),
    /holds no StyleGAN2 networks \(it is a list of 2\)/,
  );
  assert.ok(Date.now() - t0 < 5000);
  // more memo entries than any network needs
  const memo = Buffer.concat([Buffer.from([0x80, 4, 0x4e]), Buffer.alloc(1_000_001, 0x94), Buffer.from([0x2e])]);
  assert.throws(() => parseNetworkPickle(memo, 'memo.pkl'), /memo\.pkl is refused: more than 1000000 memo entries/);
  // a memo index far beyond the entries, read before it is written
  const far = Buffer.concat([Buffer.from([0x80, 4, 0x6a]), u32le(0xfffffff0), Buffer.from([0x2e])]);
  assert.throws(() => parseNetworkPickle(far, 'far.pkl'), /memo entry 4294967280 is read before it is written/);
});

test('huge integers, strings past the end and unknown opcodes are refused', () => {
  const long4 = Buffer.concat([Buffer.from([0x80, 4, 0x8b]), u32le(1 << 30), Buffer.from([0x2e])]);
  assert.throws(() => parseNetworkPickle(long4, 'x.pkl'), /x\.pkl is refused: a 1073741824-byte integer/);
  const long1 = Buffer.concat([Buffer.from([0x80, 4, 0x8a, 200]), Buffer.alloc(200, 1), Buffer.from([0x2e])]);
  assert.throws(() => parseNetworkPickle(long1, 'x.pkl'), /refused: a 200-byte integer/);
  const str8 = Buffer.concat([
    Buffer.from([0x80, 4, 0x8d]),
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x10]),
    Buffer.from([0x2e]),
  ]);
  assert.throws(
    () => parseNetworkPickle(str8, 'x.pkl'),
    /x\.pkl is truncated or damaged: it declares \d+ bytes at offset 3 where 1 remain/,
  );
  assert.throws(() => parseNetworkPickle(Buffer.from([0x80, 4, 0xf0, 0x2e]), 'x.pkl'), /unknown opcode 0xf0/);
  assert.throws(() => parseNetworkPickle(Buffer.from([0x80, 4, 0x82, 1, 0x2e]), 'x.pkl'), /extension registry/);
  // persistent ids belong only inside a torch.save stream
  assert.throws(() => parseNetworkPickle(pickle({ pid: 'x' }), 'x.pkl'), /persistent ids outside a torch\.save stream/);
  // the stack limit (lowered here to keep the test quick)
  const many = Buffer.concat([Buffer.from([0x80, 4]), Buffer.alloc(2000, 0x4e), Buffer.from([0x2e])]);
  assert.throws(
    () => unpickle(many, 0, { file: 'x.pkl', limits: { maxStack: 1000 } }),
    /more than 1000 values on the pickle stack/,
  );
});

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
