/**
 * Reads what a test needs from an MP4 (ISO BMFF, ISO/IEC 14496-12): the top-level boxes, and the
 * first video track's size, timescale, durations, sample table and codec. Written from the spec,
 * not from the encoder, so it checks what players read: each box is a 32-bit big-endian size
 * (1: a 64-bit size follows) and a four-character type; containers hold boxes.
 */
import assert from 'node:assert/strict';

export interface Box {
  type: string;
  start: number;
  size: number;
  /** Where its content starts (after the header). */
  body: number;
}

export function boxes(b: Buffer, start = 0, end = b.length): Box[] {
  const out: Box[] = [];
  let at = start;
  while (at < end) {
    assert.ok(at + 8 <= end, `a box header at ${at} runs past its parent (ends at ${end})`);
    let size = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      size = Number(b.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    assert.ok(size >= header && at + size <= end, `box ${type} at ${at} of ${size} bytes runs past ${end}`);
    out.push({ type, start: at, size, body: at + header });
    at += size;
  }
  return out;
}

function child(b: Buffer, parent: Box, type: string): Box {
  const found = boxes(b, parent.body, parent.start + parent.size).find((x) => x.type === type);
  assert.ok(found, `${parent.type} holds no ${type}`);
  return found;
}

export interface Mp4Facts {
  top: string[];
  majorBrand: string;
  /** tkhd's presentation size (16.16 fixed point) and the avc1 sample entry's coded size. */
  trackWidth: number;
  trackHeight: number;
  codedWidth: number;
  codedHeight: number;
  codec: string;
  timescale: number;
  /** mdhd's duration, in timescale units. */
  duration: number;
  /** stts: [count, delta] runs. */
  timeToSample: [number, number][];
  /** stsz: each sample's size. */
  sampleSizes: number[];
  /** stss: the keyframes' sample numbers (from 1); null without the box (every sample is one). */
  syncSamples: number[] | null;
  mdatBytes: number;
}

export function readMp4(b: Buffer): Mp4Facts {
  const top = boxes(b);
  const ftyp = top.find((x) => x.type === 'ftyp');
  const moov = top.find((x) => x.type === 'moov');
  const mdat = top.find((x) => x.type === 'mdat');
  assert.ok(ftyp && moov && mdat, `top-level boxes: ${top.map((x) => x.type).join(' ')}`);
  const trak = child(b, moov, 'trak');
  const tkhd = child(b, trak, 'tkhd');
  const mdia = child(b, trak, 'mdia');
  const mdhd = child(b, mdia, 'mdhd');
  const stbl = child(b, child(b, mdia, 'minf'), 'stbl');
  const stsd = child(b, stbl, 'stsd');
  // stsd: version/flags (4), entry count (4), then sample entries; a visual one has its size at +24.
  const entry = boxes(b, stsd.body + 8, stsd.start + stsd.size)[0]!;
  const v1 = b[mdhd.body] === 1; // version 1: 64-bit times
  const stts = child(b, stbl, 'stts');
  const runs = b.readUInt32BE(stts.body + 4);
  const timeToSample = Array.from(
    { length: runs },
    (_, i) => [b.readUInt32BE(stts.body + 8 + i * 8), b.readUInt32BE(stts.body + 12 + i * 8)] as [number, number],
  );
  const stsz = child(b, stbl, 'stsz');
  const uniform = b.readUInt32BE(stsz.body + 4);
  const count = b.readUInt32BE(stsz.body + 8);
  const sampleSizes = Array.from({ length: count }, (_, i) =>
    uniform !== 0 ? uniform : b.readUInt32BE(stsz.body + 12 + i * 4),
  );
  const stss = boxes(b, stbl.body, stbl.start + stbl.size).find((x) => x.type === 'stss');
  const syncSamples = stss
    ? Array.from({ length: b.readUInt32BE(stss.body + 4) }, (_, i) => b.readUInt32BE(stss.body + 8 + i * 4))
    : null;
  return {
    syncSamples,
    top: top.map((x) => x.type),
    majorBrand: b.toString('latin1', ftyp.body, ftyp.body + 4),
    trackWidth: b.readUInt32BE(tkhd.start + tkhd.size - 8) / 65536,
    trackHeight: b.readUInt32BE(tkhd.start + tkhd.size - 4) / 65536,
    codedWidth: b.readUInt16BE(entry.body + 24),
    codedHeight: b.readUInt16BE(entry.body + 26),
    codec: entry.type,
    timescale: b.readUInt32BE(mdhd.body + (v1 ? 20 : 12)),
    duration: v1 ? Number(b.readBigUInt64BE(mdhd.body + 24)) : b.readUInt32BE(mdhd.body + 16),
    timeToSample,
    sampleSizes,
    mdatBytes: mdat.size - (mdat.body - mdat.start),
  };
}

/** Frames and seconds as the sample table says (what a player shows). */
export function framesAndSeconds(f: Mp4Facts): { frames: number; seconds: number } {
  const frames = f.timeToSample.reduce((n, [count]) => n + count, 0);
  const ticks = f.timeToSample.reduce((n, [count, delta]) => n + count * delta, 0);
  return { frames, seconds: ticks / f.timescale };
}
