import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadCheckpoint } from '../../main/core/netfile/checkpoint.js';
import { ARCH_KEYS } from '../../main/core/gan/config.js';
import { describeGenerator, loadGenerator } from '../../main/core/netfile/generator-file.js';
import { backendReady } from '../helpers/gan.js';
import {
  RAW_INTERNALS,
  SMALL,
  bounded,
  generatorWithHole,
  hostileGenerators,
  releasePipes,
  type HostileFile,
} from '../helpers/hostile-files.js';
import { tempDir } from '../helpers/paths.js';

// Generator files that lie (about shapes, sizes, their config), and paths that are not files at
// all (a pipe, /dev/zero, a folder): each is refused before a tensor is allocated, in bounded
// time and memory, with one sentence that names the file. Once, these cost 152 s and 8 GB, grew
// without end, hung forever, or said "Cannot read properties of null".

let tmp: ReturnType<typeof tempDir>;
let hostile: HostileFile[];

before(async () => {
  await backendReady;
  tmp = tempDir('generator-files');
  hostile = hostileGenerators(join(tmp.dir, 'hostile'));
});

after(() => {
  releasePipes(hostile.map((h) => h.path));
  tmp.cleanup();
});

/** The refusal of `h` by `op`: quick, small, and a sentence that names the file and says why. */
async function assertRefused(h: HostileFile, op: () => Promise<unknown>, says = h.says): Promise<void> {
  const r = await bounded(op, 10_000);
  assert.ok(r.error, `${h.name} was accepted`);
  const message = r.error.message;
  assert.ok(message.includes(h.path), `${h.name}: the message names the file: ${message}`);
  assert.match(message, says, h.name);
  assert.doesNotMatch(message, RAW_INTERNALS, `${h.name}: internals reach the user`);
  assert.ok(!message.includes('\n') && message.length < 400, `${h.name}: one sentence: ${message}`);
  assert.ok(r.ms < 5000, `${h.name} took ${r.ms.toFixed(0)} ms`);
  assert.ok(r.peakMB < 200, `${h.name} grew the process by ${r.peakMB.toFixed(0)} MB`);
}

test(
  'every hostile generator file is refused by what it is, at once, naming the file',
  { timeout: 120_000 },
  async () => {
    for (const h of hostile) {
      await assertRefused(h, () => describeGenerator(h.path));
      await assertRefused(h, () => loadGenerator(h.path));
    }
  },
);

test('the same files given as checkpoints to resume from are refused the same way', { timeout: 120_000 }, async () => {
  for (const h of hostile) {
    // Said as a checkpoint (Plumage's own format, so no other is sniffed for): what matters is
    // that it is refused at once, by name, in words.
    await assertRefused(h, () => loadCheckpoint(h.path), /checkpoint/);
  }
});

test(
  'a generator followed by a 2.1 GB hole loads, reading its tensors by range, not the whole file',
  { timeout: 60_000 },
  async () => {
    const file = join(tmp.dir, 'with-hole.safetensors');
    generatorWithHole(file);
    const r = await bounded(() => loadGenerator(file), 20_000);
    assert.ifError(r.error);
    for (const k of ARCH_KEYS) assert.equal(r.value!.config[k], SMALL[k], k);
    r.value!.G.dispose();
    assert.ok(r.peakMB < 200, `loading grew the process by ${r.peakMB.toFixed(0)} MB`);
  },
);
