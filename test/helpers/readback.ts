/** Reads back what exports wrote, from the file bytes themselves (not through the writer's library). */
import { inflateSync } from 'node:zlib';

/** PNG chunks by type (first of each), after checking the signature. */
export function pngChunks(buf: Buffer): Map<string, Buffer> {
  assertBytes(buf.subarray(0, 8), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const chunks = new Map<string, Buffer>();
  for (let off = 8; off + 8 <= buf.length;) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (!chunks.has(type)) chunks.set(type, buf.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  return chunks;
}

/** pHYs: pixels per unit on x and y, and the unit (1 = metre). */
export function pngPhys(buf: Buffer): { x: number; y: number; unit: number } | null {
  const c = pngChunks(buf).get('pHYs');
  return c ? { x: c.readUInt32BE(0), y: c.readUInt32BE(4), unit: c[8]! } : null;
}

/** iCCP: profile name and the inflated ICC profile. */
export function pngIcc(buf: Buffer): { name: string; profile: Buffer } | null {
  const c = pngChunks(buf).get('iCCP');
  if (!c) return null;
  const nul = c.indexOf(0);
  return { name: c.toString('latin1', 0, nul), profile: inflateSync(c.subarray(nul + 2)) };
}

export interface TiffTags {
  width: number;
  height: number;
  xResolution: number;
  yResolution: number;
  /** 2 = inch, 3 = centimetre. */
  resolutionUnit: number;
  icc: Buffer | null;
}

/** The first IFD's size, resolution and ICC tags. */
export function tiffTags(buf: Buffer): TiffTags {
  const le = buf.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u16(2) !== 42) throw new Error('not a classic TIFF');
  const ifd = u32(4);
  const tags = new Map<number, { type: number; count: number; valueOff: number }>();
  for (let i = 0; i < u16(ifd); i++) {
    const e = ifd + 2 + i * 12;
    tags.set(u16(e), { type: u16(e + 2), count: u32(e + 4), valueOff: e + 8 });
  }
  const short = (tag: number): number => {
    const t = tags.get(tag);
    if (!t) throw new Error(`TIFF tag ${tag} missing`);
    return t.type === 3 ? u16(t.valueOff) : u32(t.valueOff);
  };
  const rational = (tag: number): number => {
    const t = tags.get(tag);
    if (!t || t.type !== 5) throw new Error(`TIFF rational tag ${tag} missing`);
    const at = u32(t.valueOff);
    return u32(at) / u32(at + 4);
  };
  const iccTag = tags.get(34675);
  return {
    width: short(256),
    height: short(257),
    xResolution: rational(282),
    yResolution: rational(283),
    resolutionUnit: short(296),
    icc: iccTag ? buf.subarray(u32(iccTag.valueOff), u32(iccTag.valueOff) + iccTag.count) : null,
  };
}

/** An ICC profile's colour space and description tag text (enough to recognise sRGB). */
export function iccSummary(profile: Buffer): { colourSpace: string; description: string } {
  return {
    colourSpace: profile.toString('latin1', 16, 20).trim(),
    description: profile.toString('latin1').replace(/[^\x20-\x7e]/g, ''),
  };
}

function assertBytes(actual: Buffer, expected: number[], what: string): void {
  if (!expected.every((b, i) => actual[i] === b)) throw new Error(`bad ${what}`);
}
