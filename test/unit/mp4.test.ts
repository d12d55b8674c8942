import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Mp4Error, encodeMp4, evenSide, whyNotFps } from '../../main/core/export/mp4.js';
import { OutputError, checkAnimation, writeAnimation } from '../../main/core/gallery/output.js';
import { framesAndSeconds, readMp4 } from '../helpers/mp4-boxes.js';
import { tempDir } from '../helpers/paths.js';

/** Frames that differ in every pixel and from one another: a diagonal gradient that moves with i. */
function frames(n: number, width: number, height: number, channels: 3 | 4 = 3): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const f = new Uint8Array(width * height * channels);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * channels;
        f[o] = (x * 8 + i * 20) & 255;
        f[o + 1] = (y * 8) & 255;
        f[o + 2] = (i * 25) & 255;
        if (channels === 4) f[o + 3] = 255;
      }
    return f;
  });
}

// First in this file: the encoder is loaded by the first encode, once per process.
test("loading the encoder leaves this process's uncaughtException and unhandledRejection handling as it was", async () => {
  // (The test runner has its own listeners by now; the Emscripten glue adds one of each, encodeMp4 takes them off.)
  const before = {
    rejection: process.listeners('unhandledRejection'),
    uncaught: process.listeners('uncaughtException'),
  };
  await encodeMp4(frames(2, 16, 16), 16, 16, 3, 12);
  assert.deepEqual(process.listeners('unhandledRejection'), before.rejection);
  assert.deepEqual(process.listeners('uncaughtException'), before.uncaught);
});

test('an MP4 of 9 frames of 32² at 12 fps: ftyp, moov, mdat; an H.264 track of 32 × 32, 9 samples, 0.75 s', async () => {
  const bytes = Buffer.from(await encodeMp4(frames(9, 32, 32), 32, 32, 3, 12));
  const f = readMp4(bytes);
  assert.ok(f.top.includes('ftyp') && f.top.includes('moov') && f.top.includes('mdat'), f.top.join(' '));
  assert.equal(f.codec, 'avc1', 'H.264');
  assert.deepEqual([f.trackWidth, f.trackHeight, f.codedWidth, f.codedHeight], [32, 32, 32, 32]);
  assert.equal(f.sampleSizes.length, 9, 'one sample a frame');
  assert.deepEqual(framesAndSeconds(f), { frames: 9, seconds: 0.75 });
  assert.equal(f.duration / f.timescale, 0.75, "the media header's duration");
  assert.ok(
    f.sampleSizes.every((s) => s > 0),
    `every frame has data: ${f.sampleSizes}`,
  );
  assert.ok(f.sampleSizes.reduce((a, b) => a + b, 0) <= f.mdatBytes, 'the samples lie inside mdat');
  assert.deepEqual(f.syncSamples, [1], 'the first frame is the keyframe, the rest are not (players seek by it)');
});

test('the keyframe table: a keyframe a second, found in the samples (30 frames at 12 fps: 1, 13, 25)', async () => {
  const f = readMp4(Buffer.from(await encodeMp4(frames(30, 32, 32), 32, 32, 3, 12)));
  assert.deepEqual(f.syncSamples, [1, 13, 25]);
  assert.deepEqual(framesAndSeconds(f), { frames: 30, seconds: 2.5 });
});

test('RGBA frames encode as RGB ones do; the module outlives many videos in one process', async () => {
  const a = await encodeMp4(frames(3, 16, 16, 4), 16, 16, 4, 5);
  assert.deepEqual(framesAndSeconds(readMp4(Buffer.from(a))), { frames: 3, seconds: 0.6 });
  for (let i = 0; i < 5; i++) await encodeMp4(frames(2, 16, 16), 16, 16, 3, 1);
  const b = await encodeMp4(frames(3, 16, 16, 4), 16, 16, 4, 5);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), 'the same frames give the same bytes');
});

test('an odd side is padded to even (the last column and row repeated), and says so in the track size', async () => {
  assert.deepEqual([evenSide(33), evenSide(17), evenSide(32)], [34, 18, 32]);
  const f = readMp4(Buffer.from(await encodeMp4(frames(2, 33, 17), 33, 17, 3, 10)));
  assert.deepEqual([f.trackWidth, f.trackHeight, f.codedWidth, f.codedHeight], [34, 18, 34, 18]);
});

test('what the encoder would abort on is refused first, by name, and the encoder still works after', async () => {
  const two = frames(2, 16, 16);
  await assert.rejects(encodeMp4(two, 16, 16, 3, 12.5), (e: Error) => {
    assert.ok(e instanceof Mp4Error);
    assert.match(e.message, /fps must be a whole number from 1 to 60 for mp4, got 12.5/);
    return true;
  });
  await assert.rejects(encodeMp4(two, 16, 16, 3, 0.5), /whole number from 1 to 60/);
  await assert.rejects(encodeMp4(two, 5000, 16, 3, 12), /at most 4096 pixels a side, got 5000 × 16/);
  await assert.rejects(encodeMp4([two[0]!, new Uint8Array(10)], 16, 16, 3, 12), /frame 1 holds 10 bytes/);
  await assert.rejects(encodeMp4([], 16, 16, 3, 12), /at least one frame/);
  assert.equal(readMp4(Buffer.from(await encodeMp4(two, 16, 16, 3, 12))).sampleSizes.length, 2);
  // The gallery's check (before any drawing) names the format's rule too.
  assert.throws(() => checkAnimation(24, 7.5, 64, 'mp4'), OutputError);
  assert.throws(() => checkAnimation(24, 7.5, 64, 'mp4'), /for mp4, got 7.5/);
  assert.doesNotThrow(() => checkAnimation(24, 7.5, 64, 'webp'));
});

test('writeAnimation mp4: the file appears whole, nothing else is left in the folder, an existing file is kept', async () => {
  const tmp = tempDir('mp4-write');
  try {
    const file = join(tmp.dir, 'walk.mp4');
    await writeAnimation(frames(4, 32, 32), 32, 12, 'mp4', file);
    assert.deepEqual(readdirSync(tmp.dir), ['walk.mp4'], 'no temporary file left beside it');
    assert.equal(readMp4(readFileSync(file)).sampleSizes.length, 4);
    const other = join(tmp.dir, 'taken.mp4');
    writeFileSync(other, 'mine');
    await assert.rejects(writeAnimation(frames(4, 32, 32), 32, 12, 'mp4', other));
    assert.equal(readFileSync(other, 'utf8'), 'mine', 'never written over');
    assert.deepEqual(readdirSync(tmp.dir).sort(), ['taken.mp4', 'walk.mp4']);
  } finally {
    tmp.cleanup();
  }
});

test('one fps check for every animation: the range for all formats, whole numbers for MP4 only', () => {
  for (const fps of [0, 0.01, 61, Number.NaN, Number.POSITIVE_INFINITY])
    for (const format of ['webp', 'gif', 'mp4', 'png'])
      assert.match(whyNotFps(fps, format) ?? '', /^fps must be from 0\.016 to 60 .*\(got (0|0\.01|61|NaN|Infinity)\)$/);
  assert.equal(whyNotFps(7.5, 'webp'), null);
  assert.equal(whyNotFps(0.5, 'gif'), null);
  assert.match(whyNotFps(7.5, 'mp4') ?? '', /fps must be a whole number from 1 to 60 for mp4, got 7\.5/);
  assert.equal(whyNotFps(24, 'mp4'), null);
  // The gallery's animations and the time-lapse both refuse through it.
  assert.throws(
    () => checkAnimation(10, 0, 32, 'webp'),
    (e: Error) => e instanceof OutputError && /\(got 0\)/.test(e.message),
  );
});

test('an MP4 is a function of its frames: no wall-clock creation or modification time in it', async () => {
  const bytes = Buffer.from(await encodeMp4(frames(3, 16, 16), 16, 16, 3, 5));
  for (const type of ['mvhd', 'tkhd', 'mdhd']) {
    const body = bytes.indexOf(type, 0, 'latin1') + 4;
    assert.ok(body > 4, `${type} is there`);
    const times = bytes.subarray(body + 4, body + 4 + (bytes[body] === 1 ? 16 : 8));
    assert.ok(
      times.every((x) => x === 0),
      `${type}'s times are 0 ("unknown"), not the second it was written`,
    );
  }
});
