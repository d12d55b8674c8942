import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeNonImage, hasImageExtension, sniffImage } from '../../main/core/dataset/sniff.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test('formats are recognised by their first bytes', () => {
  assert.equal(sniffImage(bytes(0xff, 0xd8, 0xff, 0xe0)), 'jpeg');
  assert.equal(sniffImage(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0)), 'png');
  assert.equal(sniffImage(text('GIF89a....')), 'gif');
  assert.equal(sniffImage(text('RIFF\0\0\0\0WEBPVP8 ')), 'webp');
  assert.equal(sniffImage(bytes(0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0)), 'tiff');
  assert.equal(sniffImage(bytes(0x4d, 0x4d, 0x00, 0x2a)), 'tiff');
  assert.equal(sniffImage(text('\0\0\0\x1cftypavif')), 'avif');
  assert.equal(sniffImage(text('\0\0\0\x18ftypheic')), 'heif');
  assert.equal(sniffImage(text('  <?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">')), 'svg');
});

test('text, empty files and near misses are not images', () => {
  assert.equal(sniffImage(text('hello, plate notes')), null);
  assert.equal(sniffImage(bytes()), null);
  assert.equal(sniffImage(bytes(0xff, 0xd8)), null); // too short for a JPEG marker
  assert.equal(sniffImage(text('RIFF\0\0\0\0WAVEfmt ')), null); // audio, not WebP
  assert.equal(sniffImage(text('<html><body>no svg</body></html>')), null);
});

test('non-image content gets a specific description', () => {
  assert.equal(describeNonImage(bytes()), 'empty file (0 bytes)');
  assert.equal(describeNonImage(text('just some notes\n')), 'not an image (the file holds text)');
  assert.equal(describeNonImage(text('%PDF-1.7\n%\xff\xff')), 'not an image (the file is a PDF)');
  assert.equal(
    describeNonImage(bytes(0x50, 0x4b, 0x03, 0x04, 0, 0, 0xff, 0x01)),
    'not an image (the file is a zip archive)',
  );
  assert.equal(describeNonImage(bytes(0, 1, 2, 3, 0xfe, 0xff, 0, 0)), 'not an image (unrecognised content)');
});

test('image extensions are matched case-insensitively', () => {
  assert.ok(hasImageExtension('Plate 12.JPG'));
  assert.ok(hasImageExtension('a.tiff'));
  assert.ok(!hasImageExtension('notes.txt'));
  assert.ok(!hasImageExtension('scan0042'));
  assert.ok(!hasImageExtension('.jpg'));
});
