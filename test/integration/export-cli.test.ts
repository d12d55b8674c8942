import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { framesAndSeconds, readMp4 } from '../helpers/mp4-boxes.js';
import { CLI, SAMPLE_PLATES, tempDir } from '../helpers/paths.js';
import { ExportJob } from '../../main/core/export/job.js';
import { exportTimelapse } from '../../main/core/export/timelapse.js';
import { referenceImageName } from '../../main/core/export/dataset-zip.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let home: string;
let out: string;
let generator: string;

async function plumage(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--home', home], {
      env: { ...process.env, PLUMAGE_HOME: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  tmp = tempDir('export-cli');
  home = join(tmp.dir, 'home');
  out = join(tmp.dir, 'out');
  mkdirSync(out);
  generator = join(tmp.dir, 'g.safetensors');
  const init = await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '1', '--out', generator]);
  assert.match(init.stdout, /wrote/);
  for (const [seed, name] of [
    ['3', 'Avis fictitia'],
    ['4', 'Pica ærø'],
  ] as const) {
    const r = await plumage(['favourite', 'add', '--checkpoint', generator, '--seed', seed, '--name', name]);
    assert.equal(r.code, 0, r.stderr);
  }
});
after(() => tmp.cleanup());

test('export: prints of real favourites, named from plate and name; never replaces without --overwrite', async () => {
  const args = ['export', '--favourites', 'all', '--paper', 'A5', '--dpi', '150', '--format', 'png', '--out', out];
  const first = await plumage([...args, '--upscaler', 'lanczos', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const end = JSON.parse(first.stdout) as { state: string; written: string[]; failed: unknown[] };
  assert.equal(end.state, 'done');
  const files = ['plate-001-avis-fictitia.png', 'plate-002-pica-ærø.png'];
  assert.deepEqual(
    end.written,
    files.map((f) => join(out, f)),
  );
  const meta = await sharp(join(out, files[0]!)).metadata();
  assert.deepEqual([meta.width, meta.height, meta.density], [874, 1240, 150]);

  const before = readFileSync(join(out, files[0]!));
  const again = await plumage(args);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /nothing written: 2 file\(s\) would be replaced \(use --overwrite\)/);
  assert.match(again.stderr, /plate-001-avis-fictitia\.png/);
  assert.deepEqual(readFileSync(join(out, files[0]!)), before);
  const forced = await plumage([...args, '--overwrite', '--upscaler', 'esrgan']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.notDeepEqual(readFileSync(join(out, files[0]!)), before, 'ESRGAN print differs from the Lanczos one');
});

test('export: by default a 32² bird on A4 goes through Lanczos, with a warning and a paper that would do', async () => {
  const dirs = [join(out, 'auto'), join(out, 'lanczos')];
  for (const d of dirs) mkdirSync(d);
  const args = ['export', '--favourites', '1', '--format', 'png', '--dpi', '72'];
  const auto = await plumage([...args, '--out', dirs[0]!]);
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(
    auto.stderr,
    /plumage: warning: plate 1 \(32²\): 18\.1 px per inch on A4 even after ESRGAN's ×4, under 50: it will print visibly soft \(using lanczos\)\. On 95x135 mm paper \(--paper 95x135\) it would have 50\./,
  );
  const lanczos = await plumage([...args, '--upscaler', 'lanczos', '--out', dirs[1]!]);
  assert.equal(lanczos.code, 0, lanczos.stderr);
  const file = 'plate-001-avis-fictitia.png';
  assert.ok(readFileSync(join(dirs[0]!, file)).equals(readFileSync(join(dirs[1]!, file))), 'the same print as Lanczos');
});

test('export --contact-sheet: one PDF with every favourite', async () => {
  const r = await plumage(['export', '--favourites', '2,1', '--contact-sheet', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const pdf = await PDFDocument.load(readFileSync(join(out, 'contact-sheet.pdf')));
  assert.equal(pdf.getPageCount(), 1);
  assert.equal(pdf.getPage(0).getWidth().toFixed(2), '595.28');
});

test('export refuses bad input with a clear error and writes nothing', async () => {
  const sub = join(out, 'bad');
  mkdirSync(sub);
  const cases: [string[], RegExp, number][] = [
    [['--favourites', '1', '--dpi', '0'], /--dpi must be a whole number from 1 to 1200 \(got 0\)/, 2],
    [['--favourites', '1', '--dpi', '1300'], /1 to 1200/, 2],
    [['--favourites', '1', '--paper', '0x100'], /--paper custom paper width must be 20–1500 mm/, 2],
    [['--favourites', '1', '--paper', 'B7'], /--paper must be one of/, 2],
    [
      ['--favourites', '1', '--upscaler', 'bicubic'],
      /--upscaler must be one of auto, esrgan, lanczos \(got bicubic\)/,
      2,
    ],
    [['--favourites', '99'], /no favourite with id 99/, 1],
    [['--favourites', 'x'], /--favourites must be all or ids/, 2],
    [['--favourites', '1', '--format', 'jpeg'], /--format must be one of pdf, png, tiff/, 2],
  ];
  for (const [extra, message, code] of cases) {
    const r = await plumage(['export', '--out', sub, ...extra]);
    assert.equal(r.code, code, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    // A usage mistake is one line that points at --help.
    if (code === 2) assert.match(r.stderr, /^plumage export: [^\n]+ \(see plumage export --help\)\n$/, extra.join(' '));
  }
  // The home's own folders are not export folders (export/folder.ts): refused, nothing made.
  const inHome = await plumage(['export', '--favourites', 'all', '--out', join(home, 'checkpoints', 'prints')]);
  assert.equal(inHome.code, 1);
  assert.match(inHome.stderr, /is inside the Plumage home .*: export into .*exports or a folder outside the home/);
  assert.deepEqual(readdirSync(sub), []);

  // A favourite whose generator file is gone is named, with what to do.
  renameSync(generator, `${generator}.moved`);
  try {
    const gone = await plumage(['export', '--favourites', '1', '--out', sub]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /favourite 1 \(Avis fictitia\): its generator file .*g\.safetensors is gone/);
    assert.match(gone.stderr, /plumage favourite remove/);
  } finally {
    renameSync(`${generator}.moved`, generator);
  }
});

test('export-dataset: the reference format, read back image by image', async () => {
  const ingest = await plumage(['ingest', SAMPLE_PLATES, '--resolution', '64', '--json']);
  assert.equal(ingest.code, 0, ingest.stderr);
  const accepted = (JSON.parse(ingest.stdout) as { accepted: unknown[] }).accepted.length;
  const r = await plumage(['export-dataset', '--dataset', SAMPLE_PLATES, '--out', out, '--name', 'plates.zip']);
  assert.equal(r.code, 0, r.stderr);
  const zip = unzipSync(readFileSync(join(out, 'plates.zip')));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(zip['dataset.json'])), { labels: null });
  const names = Object.keys(zip).filter((n) => n.endsWith('.png'));
  assert.equal(names.length, accepted);
  assert.deepEqual(names.slice(0, 2), ['00000/img00000000.png', '00000/img00000001.png']);
  const meta = await sharp(Buffer.from(zip['00000/img00000000.png']!)).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [64, 64, 3]);
  assert.equal(referenceImageName(1234), '00001/img00001234.png');

  const bad = await plumage(['export-dataset', '--dataset', SAMPLE_PLATES, '--out', out, '--name', '../x.zip']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /a file name cannot hold \/ or \\ \(a path separator\)/);
  const again = await plumage(['export-dataset', '--dataset', SAMPLE_PLATES, '--out', out, '--name', 'plates.zip']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /would be replaced/);
});

test('time-lapse: one frame per grid as WebP and GIF, or a numbered PNG sequence', async () => {
  const { dir, cleanup } = tempDir('timelapse');
  try {
    const grids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const file = join(dir, `grid-${i}.png`);
      const png = await sharp({ create: { width: 72, height: 32, channels: 3, background: { r: i * 50, g: 0, b: 0 } } })
        .png()
        .toBuffer();
      writeFileSync(file, png);
      grids.push(file);
    }
    const folder = join(dir, 'out');
    mkdirSync(folder);
    for (const format of ['webp', 'gif'] as const) {
      const job = new ExportJob(1, 'timelapse', 1);
      const [file] = await exportTimelapse(grids, { folder, baseName: 'run', format, fps: 10, overwrite: false }, job);
      const meta = await sharp(file!, { animated: true }).metadata();
      assert.equal(meta.pages, 5, format);
      assert.equal(meta.pageHeight, 32);
      assert.deepEqual(meta.delay, [100, 100, 100, 100, 100]);
    }
    const seq = await exportTimelapse(
      grids,
      { folder, baseName: 'run', format: 'png', fps: 10, overwrite: false },
      new ExportJob(2, 'timelapse', 1),
    );
    assert.equal(seq.length, 5);
    assert.deepEqual(
      readdirSync(folder)
        .filter((f) => f.endsWith('.png'))
        .sort(),
      ['run-0000.png', 'run-0001.png', 'run-0002.png', 'run-0003.png', 'run-0004.png'],
    );
    await assert.rejects(
      exportTimelapse(
        grids,
        { folder, baseName: 'run', format: 'gif', fps: 10, overwrite: false },
        new ExportJob(3, 'timelapse', 1),
      ),
      /would be replaced/,
    );
    await assert.rejects(
      exportTimelapse(
        grids,
        { folder, baseName: 'x', format: 'gif', fps: 0, overwrite: false },
        new ExportJob(4, 'timelapse', 1),
      ),
      /fps must be from 0.016 to 60/,
    );
  } finally {
    cleanup();
  }
});

test('time-lapse as MP4: one sample per grid, an odd-sized grid padded to even, grids of two sizes refused', async () => {
  const { dir, cleanup } = tempDir('timelapse-mp4');
  try {
    const grid = async (name: string, width: number, height: number, i: number): Promise<string> => {
      const file = join(dir, name);
      const background = { r: i * 50, g: 255 - i * 50, b: 0 };
      writeFileSync(
        file,
        await sharp({ create: { width, height, channels: 3, background } })
          .png()
          .toBuffer(),
      );
      return file;
    };
    const grids = await Promise.all([0, 1, 2, 3, 4].map((i) => grid(`grid-${i}.png`, 73, 31, i)));
    const folder = join(dir, 'out');
    mkdirSync(folder);
    const opts = { folder, baseName: 'run', format: 'mp4', fps: 10, overwrite: false } as const;
    const [file] = await exportTimelapse(grids, opts, new ExportJob(1, 'timelapse', 1));
    assert.equal(file, join(folder, 'run.mp4'));
    const facts = readMp4(readFileSync(file!));
    assert.deepEqual([facts.codec, facts.trackWidth, facts.trackHeight], ['avc1', 74, 32]);
    assert.deepEqual(framesAndSeconds(facts), { frames: 5, seconds: 0.5 });
    await assert.rejects(exportTimelapse(grids, opts, new ExportJob(2, 'timelapse', 1)), /would be replaced/);
    await assert.rejects(
      exportTimelapse(grids, { ...opts, baseName: 'y', fps: 2.5 }, new ExportJob(3, 'timelapse', 1)),
      /fps must be a whole number from 1 to 60 for mp4, got 2.5/,
    );
    const odd = [...grids, await grid('grid-big.png', 80, 31, 5)];
    await assert.rejects(
      exportTimelapse(odd, { ...opts, baseName: 'z' }, new ExportJob(4, 'timelapse', 1)),
      /the snapshot grid grid-big.png is 80 × 31, not 73 × 31/,
    );
    assert.deepEqual(readdirSync(folder), ['run.mp4'], 'nothing half-written beside it');
  } finally {
    cleanup();
  }
});
