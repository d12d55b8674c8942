/**
 * The sync-sample table (`stss`) that libmp4v2, as h264-mp4-encoder drives it, leaves out. ISO
 * BMFF reads a track without `stss` as all keyframes, so a player seeking into a P-frame decodes
 * it with no reference: Chromium shows the next keyframe's picture instead (measured). Writing
 * every frame as a keyframe would be correct too, at about 7× the bytes (48 frames of 256²: 583 KB
 * against 85 KB), so the table is added: the samples holding an IDR picture (NAL type 5), found in
 * the samples themselves, not assumed from the keyframe interval.
 *
 * Box layout (ISO/IEC 14496-12): a 32-bit big-endian size (1: a 64-bit size follows) and a type;
 * moov › trak › mdia › minf › stbl holds stsd, stts, stsz, stsc, stco. libmp4v2 writes moov after
 * mdat, so growing moov moves no sample and the chunk offsets stay right; anything else is refused.
 */

interface Box {
  type: string;
  start: number;
  size: number;
  body: number;
}

function boxes(b: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  for (let at = start; at + 8 <= end;) {
    let size = b.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      size = Number(b.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end)
      throw new Error(`the MP4's ${b.toString('latin1', at + 4, at + 8)} box is cut`);
    out.push({ type: b.toString('latin1', at + 4, at + 8), start: at, size, body: at + header });
    at += size;
  }
  return out;
}

function child(b: Buffer, parent: Box, type: string): Box | undefined {
  return boxes(b, parent.body, parent.start + parent.size).find((x) => x.type === type);
}

function need(b: Buffer, parent: Box, type: string): Box {
  const found = child(b, parent, type);
  if (!found) throw new Error(`the MP4's ${parent.type} has no ${type}`);
  return found;
}

/** Each sample's byte offset in the file, from the chunk offsets and the sample-to-chunk runs. */
function sampleOffsets(b: Buffer, stbl: Box, sizes: number[]): number[] {
  const stco = child(b, stbl, 'stco');
  const co64 = stco ? undefined : need(b, stbl, 'co64');
  const table = (stco ?? co64)!;
  const chunks = b.readUInt32BE(table.body + 4);
  const chunkAt = (k: number): number =>
    stco ? b.readUInt32BE(table.body + 8 + k * 4) : Number(b.readBigUInt64BE(table.body + 8 + k * 8));
  const stsc = need(b, stbl, 'stsc');
  const runs = Array.from({ length: b.readUInt32BE(stsc.body + 4) }, (_, i) => ({
    firstChunk: b.readUInt32BE(stsc.body + 8 + i * 12),
    perChunk: b.readUInt32BE(stsc.body + 12 + i * 12),
  }));
  const offsets: number[] = [];
  let run = 0;
  for (let k = 0; k < chunks && offsets.length < sizes.length; k++) {
    while (run + 1 < runs.length && runs[run + 1]!.firstChunk <= k + 1) run++;
    let at = chunkAt(k);
    for (let s = 0; s < runs[run]!.perChunk && offsets.length < sizes.length; s++) {
      offsets.push(at);
      at += sizes[offsets.length - 1]!;
    }
  }
  if (offsets.length !== sizes.length)
    throw new Error(`the MP4's chunks hold ${offsets.length} of ${sizes.length} samples`);
  return offsets;
}

/** Whether a sample (length-prefixed NAL units) holds an IDR slice. */
function holdsIdr(b: Buffer, at: number, size: number, lengthSize: number): boolean {
  for (let p = at; p + lengthSize < at + size;) {
    const n = b.readUIntBE(p, lengthSize);
    if ((b[p + lengthSize]! & 0x1f) === 5) return true;
    p += lengthSize + n;
  }
  return false;
}

/** The MP4 with an `stss` naming its IDR samples (unchanged if it has one). */
export function withSyncSamples(bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes); // a copy: the times are cleared in place
  const top = boxes(b, 0, b.length);
  const moov = top.find((x) => x.type === 'moov');
  const mdat = top.find((x) => x.type === 'mdat');
  if (!moov || !mdat) throw new Error('the encoder wrote an MP4 without moov or mdat');
  const trak = need(b, moov, 'trak');
  const mdia = need(b, trak, 'mdia');
  clearTimes(b, [need(b, moov, 'mvhd'), need(b, trak, 'tkhd'), need(b, mdia, 'mdhd')]);
  const minf = need(b, mdia, 'minf');
  const stbl = need(b, minf, 'stbl');
  if (child(b, stbl, 'stss')) return b;
  if (moov.start < mdat.start) throw new Error('the encoder wrote moov before mdat: its sync samples cannot be added');
  const stsz = need(b, stbl, 'stsz');
  const uniform = b.readUInt32BE(stsz.body + 4);
  const sizes = Array.from({ length: b.readUInt32BE(stsz.body + 8) }, (_, i) =>
    uniform !== 0 ? uniform : b.readUInt32BE(stsz.body + 12 + i * 4),
  );
  const stsd = need(b, stbl, 'stsd');
  const avc1 = boxes(b, stsd.body + 8, stsd.start + stsd.size)[0];
  if (avc1?.type !== 'avc1') throw new Error(`the MP4's track is ${avc1?.type ?? 'empty'}, not avc1`);
  // A visual sample entry's fields take 78 bytes; its avcC follows (ISO/IEC 14496-15).
  const avcC = boxes(b, avc1.body + 78, avc1.start + avc1.size).find((x) => x.type === 'avcC');
  if (!avcC) throw new Error("the MP4's avc1 has no avcC");
  const lengthSize = (b[avcC.body + 4]! & 3) + 1;
  const offsets = sampleOffsets(b, stbl, sizes);
  const sync = offsets.flatMap((at, i) => (holdsIdr(b, at, sizes[i]!, lengthSize) ? [i + 1] : []));
  const stss = Buffer.alloc(16 + 4 * sync.length);
  stss.writeUInt32BE(stss.length, 0);
  stss.write('stss', 4, 'latin1');
  stss.writeUInt32BE(sync.length, 12); // after version and flags (0)
  sync.forEach((n, i) => stss.writeUInt32BE(n, 16 + i * 4));
  // stss goes right after stsz; each box that holds it grows by its size (all 32-bit sizes here).
  const insertAt = stsz.start + stsz.size;
  const out = Buffer.concat([b.subarray(0, insertAt), stss, b.subarray(insertAt)]);
  for (const box of [moov, trak, mdia, minf, stbl]) {
    if (b.readUInt32BE(box.start) === 1) throw new Error(`the MP4's ${box.type} has a 64-bit size`);
    out.writeUInt32BE(box.size + stss.length, box.start);
  }
  return out;
}

/**
 * libmp4v2 stamps the movie, the track and its media with the wall-clock second they were written
 * (creation and modification time): the same frames gave other bytes a second later. 0 is the
 * format's "unknown" (ISO/IEC 14496-12), so an export is a function of its frames alone.
 */
function clearTimes(b: Buffer, headers: Box[]): void {
  for (const h of headers) {
    const version = b[h.body]!; // then 3 bytes of flags; 64-bit times in version 1, else 32-bit
    b.fill(0, h.body + 4, h.body + 4 + (version === 1 ? 16 : 8));
  }
}
