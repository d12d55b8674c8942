// Birds drawn from NVIDIA-format pickles equal what the reference's generate.py drew from the
// same files (test/fixtures/pickles/reference, within 1/255), through every door a generator
// file comes in by: loadGenerator, `plumage generate --checkpoint`, favourites, the gallery, initFrom.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { loadGenerator } from '../../main/core/netfile/generator-file.js';
import { trainerFromGenerator } from '../../main/core/netfile/transfer.js';
import { sampleSeeds } from '../../main/core/gan/sample.js';
import { Studio } from '../../main/core/studio.js';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';
import { backendReady, maxAbsDiff } from '../helpers/gan.js';
import { PICKLES, expectedTensors, pickle } from '../helpers/pickles.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;

before(async () => {
  await backendReady;
  tmp = tempDir('pickle-gen');
});
after(() => tmp.cleanup());

interface Expected {
  resolution: number;
  images: { seed: number; psi: number; offset: number }[];
}
const REFERENCE = JSON.parse(readFileSync(join(PICKLES, 'reference', 'images.json'), 'utf8')) as Record<
  string,
  Expected
>;
function referenceImage(stem: string, seed: number, psi: number): Uint8Array {
  const e = REFERENCE[stem]!;
  const img = e.images.find((i) => i.seed === seed && i.psi === psi)!;
  const n = e.resolution * e.resolution * 3;
  return readFileSync(join(PICKLES, 'reference', `${stem}.bin`)).subarray(img.offset, img.offset + n);
}

test("birds from each pickle format equal the reference's generate.py within 1/255", async () => {
  for (const [file, stem] of <[string, string][]>[
    ['network-snapshot-000120.pkl', 'network-snapshot-000120'],
    ['zip-storages.pkl', 'network-snapshot-000120'], // the same networks
    ['stylegan2-tf.pkl', 'stylegan2-tf'],
  ]) {
    const { config, G } = await loadGenerator(join(PICKLES, file));
    try {
      for (const psi of [1, 0.7]) {
        const ours = await sampleSeeds(G, config, [0, 1, 2], psi, 'const');
        ours.forEach((img, seed) =>
          assert.ok(maxAbsDiff(img, referenceImage(stem, seed, psi)) <= 1, `${file} seed ${seed} ψ ${psi}`),
        );
      }
    } finally {
      G.dispose();
    }
  }
});

test('`plumage generate --checkpoint net.pkl` and `favourite add --checkpoint net.pkl` work from the CLI', async () => {
  const pkl = join(PICKLES, 'network-snapshot-000120.pkl');
  const out = join(tmp.dir, 'prints'); // a folder that does not exist yet
  await run(process.execPath, [CLI, 'generate', '--checkpoint', pkl, '--seeds', '0-2', '--psi', '0.7', '--noise', 'const', '--out', out]); // prettier-ignore
  for (let seed = 0; seed < 3; seed++) {
    const { data, info } = await sharp(join(out, `seed000${seed}.png`))
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [32, 32, 3]);
    assert.ok(maxAbsDiff(data, referenceImage('network-snapshot-000120', seed, 0.7)) <= 1, `seed ${seed}`);
  }
  const home = join(tmp.dir, 'home');
  const add = await run(process.execPath, [CLI, 'favourite', 'add', '--checkpoint', pkl, '--seed', '2', '--home', home, '--json']); // prettier-ignore
  const fav = JSON.parse(add.stdout) as { id: number };
  const again = join(tmp.dir, 'again');
  await run(process.execPath, [CLI, 'favourite', 'render', String(fav.id), '--out', again, '--home', home]);
});

test('a hostile pickle given to the CLI fails with one sentence, and nothing runs', async () => {
  const marker = join(tmp.dir, 'pwned');
  const evil = join(tmp.dir, 'network-snapshot-000001.pkl');
  writeFileSync(evil, pickle({ call: 'os.system', args: [`touch ${marker}`] }));
  const err = await run(process.execPath, [
    CLI,
    'generate',
    '--checkpoint',
    evil,
    '--seeds',
    '0',
    '--out',
    tmp.dir,
  ]).catch((e: { stderr: string; code: number }) => e);
  assert.ok('code' in err && err.code !== 0);
  assert.match(err.stderr, /network-snapshot-000001\.pkl calls os\.system: not a StyleGAN2 network/);
  assert.doesNotMatch(err.stderr, /\n\s+at /, 'no stack trace');
  assert.throws(() => readFileSync(marker), /ENOENT/);
});

test("the gallery opens a pickle as 'any generator file' and draws the reference's birds", async () => {
  const home = join(tmp.dir, 'studio-home');
  const studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });
  try {
    const file = join(PICKLES, 'stylegan2-tf.pkl');
    const info = await studio.openGenerator({ file });
    assert.equal(info.resolution, 32);
    const r = await studio.generate({ generator: { file }, seeds: [1], psi: 1, noiseMode: 'const' });
    await studio.gallery.settle(r);
    const { data } = await sharp(readFileSync(join(home, r.birds[0]!.media)))
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.ok(maxAbsDiff(data, referenceImage('stylegan2-tf', 1, 1)) <= 1);
  } finally {
    await studio.close();
  }
});

test("initFrom a pickle (the engine's entry point): G, G_ema and D start from the pickle's", async () => {
  const trainer = await trainerFromGenerator(join(PICKLES, 'network-snapshot-000120.pkl'), 3, { batchSize: 4 });
  try {
    const want = expectedTensors();
    for (const set of [trainer.G, trainer.G_ema, trainer.D])
      for (const [name, { data }] of await set.exportRef()) assert.deepEqual(data, want.get(name)!.data, name);
  } finally {
    trainer.dispose();
  }
});
