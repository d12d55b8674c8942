/**
 * Features of a dataset's training images, cached on disk in the home (`features/`, one file
 * per dataset and side, its name derived from the home so a copied or moved home keeps it).
 * Keyed by each source's content hash: when the dataset changes, only the new images are run
 * through the network and the removed ones dropped; a change of the network, the resize, the
 * dataset's resolution, crop or paper colour (all in the file's header) makes it start afresh.
 */
import { mkdir, open, readFile } from 'node:fs/promises';

import { writeFileAtomic } from '../util/atomic.js';
import { FEATURE_DIM, FEATURE_NET_ID, type FeatureNetwork } from './feature-net.js';
import { featureCacheFor } from './feature-files.js';
import { featuresDir } from '../home-layout.js';
import { boxDown } from './resize.js';

/** What the features of a dataset depend on, and where its squares are. Plain data (crosses to a child process). */
export interface DatasetImages {
  datasetId: number;
  /** The packed cache (cache/dataset-N-R.u8), absolute. */
  cacheFile: string;
  resolution: number;
  crop: string;
  paper: string;
  /** Accepted sources: path relative to the dataset folder, content hash, cache slot. */
  sources: { file: string; hash: string; slot: number }[];
}

interface Header {
  net: string;
  resolution: number;
  crop: string;
  paper: string;
  side: number;
  hashes: string[];
}

/** Past this many bytes a header is not ours (a damaged or foreign file): start afresh. */
const MAX_HEADER = 64 << 20;

async function readCache(file: string, want: Omit<Header, 'hashes'>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  const buf = await readFile(file).catch(() => null);
  if (!buf || buf.length < 4) return out;
  const len = buf.readUInt32LE(0);
  if (len > MAX_HEADER || 4 + len > buf.length) return out;
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as Header;
  } catch {
    return out;
  }
  const same = (Object.keys(want) as (keyof typeof want)[]).every((k) => header[k] === want[k]);
  const body = buf.subarray(4 + len);
  if (!same || !Array.isArray(header.hashes) || body.length !== header.hashes.length * FEATURE_DIM * 4) return out;
  const floats = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
  header.hashes.forEach((h, i) => out.set(h, floats.slice(i * FEATURE_DIM, (i + 1) * FEATURE_DIM)));
  return out;
}

async function writeCache(file: string, header: Header, features: Float32Array): Promise<void> {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  const body = Buffer.from(features.buffer, features.byteOffset, features.byteLength);
  await writeFileAtomic(file, Buffer.concat([len, head, body]), false); // can always be computed again
}

export interface DatasetFeatures {
  /** Source paths, in the order of the rows. */
  files: string[];
  /** [files × 768]. */
  features: Float32Array;
  /** Images run through the network this time (the rest came from the cache). */
  computed: number;
}

/**
 * The features of every accepted image, seen at `side` (box-filtered from the dataset's squares
 * as the trainer feeds a network of that side). `onProgress(done, total)` counts new images.
 */
export async function datasetFeatures(
  home: string,
  ds: DatasetImages,
  side: number,
  net: FeatureNetwork,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<DatasetFeatures> {
  if (ds.resolution % side !== 0)
    throw new RangeError(`dataset ${ds.datasetId} (${ds.resolution}²) cannot be compared at ${side}²`);
  const file = featureCacheFor(home, ds.datasetId, side);
  const want = { net: FEATURE_NET_ID, resolution: ds.resolution, crop: ds.crop, paper: ds.paper, side };
  const cached = await readCache(file, want);
  const sources = [...ds.sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const missing = sources.filter((s) => !cached.has(s.hash));
  const slotBytes = ds.resolution * ds.resolution * 3;
  if (missing.length > 0) {
    const fd = await open(ds.cacheFile, 'r');
    try {
      const CHUNK = 32; // squares read and run at a time: memory stays small whatever the dataset's size
      for (let first = 0; first < missing.length; first += CHUNK) {
        const chunk = missing.slice(first, first + CHUNK);
        const squares: Uint8Array[] = [];
        for (const s of chunk) {
          const raw = Buffer.alloc(slotBytes);
          const { bytesRead } = await fd.read(raw, 0, slotBytes, s.slot * slotBytes);
          if (bytesRead !== slotBytes) throw new Error(`dataset cache ${ds.cacheFile}: slot ${s.slot} is incomplete`);
          squares.push(boxDown(raw, ds.resolution, side));
        }
        const f = await net.features(squares, side, opts.signal);
        chunk.forEach((s, k) => cached.set(s.hash, f.slice(k * FEATURE_DIM, (k + 1) * FEATURE_DIM)));
        opts.onProgress?.(first + chunk.length, missing.length);
      }
    } finally {
      await fd.close();
    }
  }
  const features = new Float32Array(sources.length * FEATURE_DIM);
  sources.forEach((s, i) => features.set(cached.get(s.hash)!, i * FEATURE_DIM));
  const stale = cached.size !== new Set(sources.map((s) => s.hash)).size;
  if (missing.length > 0 || stale) {
    await mkdir(featuresDir(home), { recursive: true });
    // One row per distinct content: two files with the same bytes share it.
    const hashes = [...new Set(sources.map((s) => s.hash))];
    const rowsOut = new Float32Array(hashes.length * FEATURE_DIM);
    hashes.forEach((h, i) => rowsOut.set(cached.get(h)!, i * FEATURE_DIM));
    await writeCache(file, { ...want, hashes }, rowsOut);
  }
  return { files: sources.map((s) => s.file), features, computed: missing.length };
}
