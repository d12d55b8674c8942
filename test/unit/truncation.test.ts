import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describeDecodeError, isTruncated } from '../../main/core/dataset/process.js';
import { plate } from '../helpers/plates.js';

test("truncation is read from the bytes, whatever text libvips left (it can be another thread's)", async () => {
  const jpeg = readFileSync(plate('plate-100-marsh-wren.jpg'));
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } })
    .png()
    .toBuffer();
  const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } })
    .gif()
    .toBuffer();
  const webp = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } })
    .webp()
    .toBuffer();
  for (const [buf, format] of [
    [jpeg, 'jpeg'],
    [png, 'png'],
    [gif, 'gif'],
    [webp, 'webp'],
  ] as const) {
    assert.equal(isTruncated(buf, format), false, `${format} whole`);
    assert.equal(isTruncated(buf.subarray(0, Math.floor(buf.length * 0.6)), format), true, `${format} cut`);
  }
  const unknown = new Error('Unknown error');
  assert.equal(describeDecodeError(unknown, 'jpeg', jpeg.subarray(0, 1000)), 'truncated JPEG');
  assert.equal(describeDecodeError(unknown, 'png', png.subarray(0, 40)), 'truncated PNG (the file is cut off)');
  assert.equal(describeDecodeError(new Error('VipsJpeg: Premature end of input file'), 'jpeg'), 'truncated JPEG');
  assert.equal(describeDecodeError(unknown, 'jpeg', jpeg), 'could not decode JPEG: Unknown error');
});

test("a header that lies is said so, not as libvips's 'has corrupt header:' with nothing after its colon", async () => {
  const liar = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('GARBAGE GARBAGE GARBAGE')]);
  const err = await sharp(liar)
    .metadata()
    .then(() => null)
    .catch((e: Error) => e);
  assert.ok(err, 'libvips refuses it');
  for (const [format, input] of [
    [null, liar],
    ['png', undefined],
  ] as const) {
    const reason = describeDecodeError(err, format, input);
    assert.doesNotMatch(reason, /:\s*$/, reason);
    assert.match(reason, /header is damaged/, reason);
  }
  assert.equal(
    describeDecodeError(new Error('Some library: a reason:\nmore'), 'png'),
    'could not decode PNG: Some library: a reason',
  );
});
