import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeBmp } from '../../main/core/dataset/bmp.js';
import type { RawPixels } from '../../main/core/dataset/decoded.js';
import { decodeJpeg2000, readJpeg2000Header } from '../../main/core/dataset/jpeg2000.js';
import { decodePnm } from '../../main/core/dataset/pnm.js';
import { renderSquare } from '../../main/core/dataset/process.js';
import { sniffImage } from '../../main/core/dataset/sniff.js';
import { FIXTURES } from '../helpers/paths.js';

// test/fixtures/images/*.bmp and *.jp2/*.j2k were written by ImageMagick 6.9 and OpenJPEG's
// opj_compress 2.5 (not by anything in this repository) from a 4-quadrant picture: top-left
// red, top-right green, bottom-left blue, bottom-right white (see test/fixtures/README.md).
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, 'images', name));
const RED = [200, 30, 30];
const GREEN = [30, 160, 40];
const BLUE = [20, 40, 210];
const WHITE = [255, 255, 255];

function pixel(raw: RawPixels, x: number, y: number): number[] {
  const i = (y * raw.width + x) * raw.channels;
  return Array.from(raw.data.subarray(i, i + raw.channels));
}

/** Centres of the four quadrants, in reading order. */
function quadrants(raw: RawPixels): number[][] {
  const [qx, qy] = [Math.floor(raw.width / 4), Math.floor(raw.height / 4)];
  return [pixel(raw, qx, qy), pixel(raw, 3 * qx, qy), pixel(raw, qx, 3 * qy), pixel(raw, 3 * qx, 3 * qy)];
}

function assertColours(actual: number[][], expected: number[][], tolerance: number, what: string): void {
  actual.forEach((px, q) =>
    expected[q]!.forEach((v, c) =>
      assert.ok(Math.abs(px[c]! - v) <= tolerance, `${what}, quadrant ${q}: got ${px}, expected ${expected[q]}`),
    ),
  );
}

test('every BMP variant decodes upright with the right colours', () => {
  const cases: [string, number, number[][]][] = [
    ['rgb24.bmp', 0, [RED, GREEN, BLUE, WHITE]],
    ['pal8.bmp', 0, [RED, GREEN, BLUE, WHITE]],
    ['pal4.bmp', 0, [RED, GREEN, BLUE, WHITE]],
    ['rle8.bmp', 0, [RED, GREEN, BLUE, WHITE]],
    ['os2.bmp', 0, [RED, GREEN, BLUE, WHITE]], // 12-byte OS/2 1.x header, 3-byte palette entries
    ['rgb565.bmp', 8, [RED, GREEN, BLUE, WHITE]], // bit fields: 5/6/5 bits per channel
    [
      'mono1.bmp', // 1 bit per pixel; threshold 60 %: only white stays white
      0,
      [
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
        [255, 255, 255],
      ],
    ],
  ];
  for (const [name, tolerance, expected] of cases) {
    const raw = decodeBmp(fixture(name));
    assert.deepEqual([raw.width, raw.height, raw.channels], [32, 24, 3], name);
    assertColours(quadrants(raw), expected, tolerance, name);
  }
  const alpha = decodeBmp(fixture('argb32.bmp')); // V5 header, alpha mask, 50 % alpha
  assert.equal(alpha.channels, 4);
  assertColours(
    quadrants(alpha),
    [RED, GREEN, BLUE, WHITE].map((c) => [...c, 128]),
    1,
    'argb32',
  );
});

test('a top-down BMP (negative height) and RLE4 are read too', () => {
  const bmp = fixture('rgb24.bmp');
  const offset = bmp.readUInt32LE(10);
  const stride = 32 * 3;
  const flipped = Buffer.from(bmp);
  flipped.writeInt32LE(-24, 22);
  for (let y = 0; y < 24; y++)
    bmp.copy(flipped, offset + (23 - y) * stride, offset + y * stride, offset + (y + 1) * stride);
  assertColours(quadrants(decodeBmp(flipped)), [RED, GREEN, BLUE, WHITE], 0, 'top-down');

  // 4×2 RLE4 by hand: the bottom row (first in the file) is a run of index 1, the top row the literal 2 1 2 1.
  const palette = [0, 0, 0, 0, 30, 40, 200, 0, 200, 30, 30, 0]; // BGRX: black, red (200,40,30), blue (30,30,200)
  const data = [4, 0x11, 0, 0, 0, 4, 0x21, 0x21, 0, 0, 0, 1];
  const head = Buffer.alloc(54);
  head.write('BM', 0, 'ascii');
  head.writeUInt32LE(54 + palette.length + data.length, 2);
  head.writeUInt32LE(54 + palette.length, 10);
  head.writeUInt32LE(40, 14);
  head.writeInt32LE(4, 18);
  head.writeInt32LE(2, 22);
  head.writeUInt16LE(1, 26);
  head.writeUInt16LE(4, 28);
  head.writeUInt32LE(2, 30); // BI_RLE4
  head.writeUInt32LE(3, 46); // colours used
  const raw = decodeBmp(Buffer.concat([head, Buffer.from(palette), Buffer.from(data)]));
  assert.deepEqual(Array.from(raw.data), [
    ...[30, 30, 200, 200, 40, 30, 30, 30, 200, 200, 40, 30],
    ...[200, 40, 30, 200, 40, 30, 200, 40, 30, 200, 40, 30],
  ]);
});

test('Netpbm: binary and plain PPM/PGM/PBM, 16-bit PGM, PAM with alpha', () => {
  const ppm = Buffer.concat([Buffer.from('P6\n# a comment\n2 1\n255\n'), Buffer.from([255, 0, 0, 0, 0, 255])]);
  assert.deepEqual(Array.from(decodePnm(ppm).data), [255, 0, 0, 0, 0, 255]);
  const plain = Buffer.from('P3 2 1 15\n15 0 0 # red\n 0 0 15\n');
  assert.deepEqual(Array.from(decodePnm(plain).data), [255, 0, 0, 0, 0, 255], 'maxval 15 scales to 255');
  // maxval 1000 (> 255): 16-bit big-endian samples, scaled to the full 16-bit range.
  const pgm16 = Buffer.concat([Buffer.from('P5\n3 1\n1000\n'), Buffer.from([0, 0, 0x01, 0xf4, 0x03, 0xe8])]);
  const grey = decodePnm(pgm16);
  assert.ok(grey.data instanceof Uint16Array);
  assert.deepEqual(Array.from(grey.data), [0, 32768, 65535]);
  const pbm = Buffer.concat([Buffer.from('P4\n10 1\n'), Buffer.from([0b10000000, 0b01000000])]);
  assert.deepEqual(Array.from(decodePnm(pbm).data), [0, 255, 255, 255, 255, 255, 255, 255, 255, 0], '1 is ink');
  assert.deepEqual(Array.from(decodePnm(Buffer.from('P1\n3 1\n010\n')).data), [255, 0, 255]);
  assert.deepEqual(Array.from(decodePnm(Buffer.from('P2\n2 1\n255\n7 200\n')).data), [7, 200]);
  const pam = Buffer.concat([
    Buffer.from('P7\nWIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n'),
    Buffer.from([1, 2, 3, 4]),
  ]);
  const rgba = decodePnm(pam);
  assert.equal(rgba.channels, 4);
  assert.deepEqual(Array.from(rgba.data), [1, 2, 3, 4]);
});

test('a header-only or cut-off Netpbm file is refused as truncated', () => {
  assert.throws(() => decodePnm(Buffer.from('P6\n640 480\n255\n')), /^Error: truncated PPM \(the file is cut off\)$/);
  assert.throws(() => decodePnm(Buffer.from('P5\n64')), /truncated PGM/);
  assert.throws(() => decodePnm(Buffer.from('P3\n2 1\n255\n1 2 3 4')), /truncated PPM/);
  assert.throws(() => decodePnm(Buffer.from('P6\n2 x\n255\n')), /damaged PPM header/);
});

test('sniffing: PNM, JP2, J2K and BMP by content; text that starts with "BM" or "P6" is text', () => {
  assert.equal(sniffImage(Buffer.from('P6\n640 480\n255\n')), 'pnm');
  assert.equal(sniffImage(Buffer.from('P5 # scanner\n10 10 255 ')), 'pnm');
  assert.equal(sniffImage(Buffer.from('P7\nWIDTH 2\n')), 'pnm');
  assert.equal(sniffImage(fixture('quad.jp2')), 'jp2');
  assert.equal(sniffImage(fixture('quad.j2k')), 'j2k');
  assert.equal(sniffImage(fixture('os2.bmp')), 'bmp');
  assert.equal(sniffImage(fixture('argb32.bmp')), 'bmp');
  assert.equal(sniffImage(Buffer.from('BM is the abbreviation we use for the bird museum.\n')), null);
  assert.equal(sniffImage(Buffer.from('P6 is the sixth plate, see notes\n')), null);
});

test('JPEG 2000: JP2 and J2K decode, at a reduced wavelet level when that still covers the square', async () => {
  for (const name of ['quad.jp2', 'quad.j2k']) {
    const header = readJpeg2000Header(fixture(name));
    assert.deepEqual([header.width, header.height, header.components], [256, 192, 3], name);
    const full = await decodeJpeg2000(fixture(name), () => false);
    assert.deepEqual([full.width, full.height], [256, 192]);
    assertColours(quadrants(full), [RED, GREEN, BLUE, WHITE], 0, `${name} full`);
    // Short side 192 must stay ≥ 40: 96 and 48 do, 24 does not → two halvings, 64×48.
    const reduced = await decodeJpeg2000(fixture(name), (s) => Math.min(s.width, s.height) >= 40);
    assert.deepEqual([reduced.width, reduced.height], [64, 48], name);
    assertColours(quadrants(reduced), [RED, GREEN, BLUE, WHITE], 2, `${name} reduced`);
  }
  const grey = await decodeJpeg2000(fixture('grey16.jp2'), () => false); // 16-bit grey gradient
  assert.equal(grey.channels, 1);
  assert.ok(grey.data instanceof Uint16Array);
  assert.equal(grey.data[0], 0);
  assert.equal(grey.data[grey.data.length - 1], 65535);
});

test('a damaged or cut-off J2K is refused with a reason', async () => {
  const j2k = fixture('quad.j2k');
  const damaged = Buffer.from(j2k);
  damaged.fill(0x55, 60, 200); // through the COD marker
  await assert.rejects(
    decodeJpeg2000(damaged, () => false),
    /^Error: damaged JPEG 2000/,
  );
  await assert.rejects(
    decodeJpeg2000(j2k.subarray(0, 30), () => false),
    /truncated JPEG 2000/,
  );
  await assert.rejects(
    decodeJpeg2000(j2k.subarray(0, Math.floor(j2k.length * 0.6)), () => false),
    /truncated/,
  );
});

test('decoded formats go through the same pipeline as a PNG of the same picture', async () => {
  const opts = { resolution: 16, crop: 'centre' as const, paper: '#f5f1e6' };
  const png = await quadPng(32, 24);
  const reference = await renderSquare(png, opts);
  assert.ok(reference.ok);
  const ppm = Buffer.concat([Buffer.from('P6\n32 24\n255\n'), Buffer.from(decodeBmp(fixture('rgb24.bmp')).data)]);
  for (const [name, bytes] of [
    ['bmp', fixture('rgb24.bmp')],
    ['ppm', ppm],
  ] as const) {
    const square = await renderSquare(bytes, opts);
    assert.ok(square.ok, name);
    assert.deepEqual(square.upright, { width: 32, height: 24 });
    assert.ok(square.pixels.equals(reference.pixels), `${name} renders exactly as the PNG`);
  }
  const jp2 = await renderSquare(fixture('quad.jp2'), { ...opts, crop: 'subject' });
  assert.ok(jp2.ok);
  assert.deepEqual(jp2.upright, { width: 256, height: 192 });
  const header = Buffer.from('P6\n640 480\n255\n');
  assert.deepEqual(await renderSquare(header, opts), {
    ok: false,
    upright: { width: 640, height: 480 },
    reason: 'truncated PPM (the file is cut off)',
  });
  const bomb = Buffer.from('P6\n20000 20000\n255\n');
  const refused = await renderSquare(bomb, opts);
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.reason, '20000×20000 px exceeds the 268 Mpx pixel limit');
});

async function quadPng(w: number, h: number): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = y < h / 2 ? (x < w / 2 ? RED : GREEN) : x < w / 2 ? BLUE : WHITE;
      raw.set(c, (y * w + x) * 3);
    }
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}
