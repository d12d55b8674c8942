import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMp4 } from '../../main/core/export/mp4.js';
import { chromiumMissing, launchBrowser } from '../helpers/browser.js';

/** One solid colour a frame: what the browser decodes at each frame's time must be that colour. */
const COLOURS: [number, number, number][] = [
  [230, 30, 30],
  [30, 200, 40],
  [40, 60, 220],
  [240, 240, 240],
  [20, 20, 20],
  [230, 210, 40],
];
const WIDTH = 64;
const HEIGHT = 48; // not square, so a swapped width and height shows
const FPS = 2;

test(
  'Debian chromium plays an MP4 Plumage writes: its size, duration and each frame’s colour',
  { skip: chromiumMissing() },
  async () => {
    const frames = COLOURS.map(([r, g, b]) => {
      const f = new Uint8Array(WIDTH * HEIGHT * 3);
      for (let p = 0; p < WIDTH * HEIGHT; p++) f.set([r, g, b], p * 3);
      return f;
    });
    const mp4 = await encodeMp4(frames, WIDTH, HEIGHT, 3, FPS);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto('about:blank');
      const seen = await page.evaluate(
        async ({ b64, fps, count }) => {
          const video = document.createElement('video');
          video.muted = true;
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          video.src = URL.createObjectURL(new Blob([bytes], { type: 'video/mp4' }));
          document.body.append(video);
          const loaded = await new Promise<string>((resolve) => {
            video.onloadeddata = () => resolve('loaded');
            video.onerror = () => resolve(`error ${video.error?.code}: ${video.error?.message}`);
          });
          if (loaded !== 'loaded') return { loaded, canPlay: video.canPlayType('video/mp4; codecs="avc1.42E01E"') };
          const canvas = document.createElement('canvas');
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
          const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
          const colours: number[][] = [];
          for (let i = 0; i < count; i++) {
            // The middle of frame i's time on screen.
            const seeked = new Promise((r) => (video.onseeked = r));
            video.currentTime = (i + 0.5) / fps;
            await seeked;
            ctx.drawImage(video, 0, 0);
            colours.push([...ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data.slice(0, 3)]);
          }
          return { loaded, width: video.videoWidth, height: video.videoHeight, duration: video.duration, colours };
        },
        { b64: Buffer.from(mp4).toString('base64'), fps: FPS, count: COLOURS.length },
      );
      assert.equal(seen.loaded, 'loaded', JSON.stringify(seen));
      assert.deepEqual([seen.width, seen.height], [WIDTH, HEIGHT]);
      assert.equal(seen.duration, COLOURS.length / FPS);
      // H.264 is lossy and converts to YUV and back: within a few levels of each channel.
      seen.colours!.forEach((c, i) =>
        assert.ok(
          c.every((v, k) => Math.abs(v - COLOURS[i]![k]!) <= 12),
          `frame ${i}: decoded ${c}, encoded ${COLOURS[i]}`,
        ),
      );
    } finally {
      await browser.close();
    }
  },
);
