/**
 * The image feature network behind KID, the closest plates and projection: Keras InceptionV3
 * as the npm package `nsfwjs` ships it (MIT; weights inside the package, so nothing is fetched at
 * run time), cut at `mixed5` ([17,17,768]) and average-pooled to 768 numbers. Only the layers up
 * to mixed5 are built and only their weights decoded: those are the stock ImageNet weights (the
 * package marks them non-trainable); mixed6 onwards were fine-tuned for the package's own
 * classifier. Its classifier API is not used (it would build the whole network and its head).
 *
 * Input: a uint8 RGB square of any side, resized to 299² by the one Lanczos-3 resize
 * (resize.ts) and scaled to [-1, 1], Keras' `preprocess_input` for InceptionV3 (see
 * docs/DECISIONS.md for why not the package's [0, 1]). Runs on whichever backend
 * gan/backend.ts chose; every read is asynchronous (a GPU backend can only read that way).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resizeSquare } from './resize.js';

const require = createRequire(import.meta.url);

export const FEATURE_DIM = 768;
export const FEATURE_INPUT = 299;
/** Where the network is cut. */
export const FEATURE_LAYER = 'mixed5';
/** Names everything that decides a feature vector: a cache made under another id is stale. */
export const FEATURE_NET_ID = 'nsfwjs-4.4.0/inception_v3/mixed5/avg/lanczos3-299/pm1';
/** Images through the network at once: [8,149,149,64]-sized activations stay near 100 MB. */
export const FEATURE_BATCH = 8;

interface LayerJson {
  name: string;
  class_name: string;
  inbound_nodes: [string, number, number, unknown][][];
}
interface ModelJson {
  modelTopology: { model_config: { config: { layers: LayerJson[]; input_layers: unknown; output_layers: unknown } } };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** The package's folder: its `exports` map hides the model files, so walk up from its entry point. */
function packageDir(): string {
  let dir = dirname(require.resolve('nsfwjs'));
  while (!existsSync(join(dir, 'dist', 'models', 'inception_v3', 'model.min.js'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('the InceptionV3 model files are missing from the nsfwjs package');
    dir = up;
  }
  return join(dir, 'dist', 'models', 'inception_v3');
}

/** The package wraps each file as a CommonJS module: the model JSON, and each shard as base64. */
function loadModule<T>(file: string): T {
  const m = require(file) as { default?: T } & T;
  return (m.default ?? m) as T;
}

const bytesPerValue = (e: tf.io.WeightsManifestEntry): number => {
  const q = e.quantization?.dtype;
  return q === 'uint8' ? 1 : q === 'uint16' || q === 'float16' ? 2 : 4;
};

/**
 * The topology and weights of the layers `mixed5` depends on, and nothing else: the layer list
 * is walked back from mixed5 through its inbound nodes, and the weight bytes of every other
 * layer are left out of what tfjs decodes.
 */
export function mixed5Artifacts(): tf.io.ModelArtifacts {
  const dir = packageDir();
  const json = loadModule<ModelJson>(join(dir, 'model.min.js'));
  const config = json.modelTopology.model_config.config;
  const byName = new Map(config.layers.map((l) => [l.name, l]));
  const needed = new Set<string>();
  const stack = [FEATURE_LAYER];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    const layer = byName.get(name);
    if (!layer) throw new Error(`InceptionV3 in nsfwjs has no layer ${name}`);
    needed.add(name);
    for (const node of layer.inbound_nodes) for (const [from] of node) stack.push(from);
  }
  const topology = structuredClone(json.modelTopology);
  topology.model_config.config.layers = config.layers.filter((l) => needed.has(l.name));
  topology.model_config.config.output_layers = [[FEATURE_LAYER, 0, 0]];
  delete (topology as { training_config?: unknown }).training_config;

  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    const data = Buffer.concat(
      group.paths.map((p) => Buffer.from(loadModule<string>(join(dir, `${p}.min.js`)), 'base64')),
    );
    let offset = 0;
    for (const w of group.weights) {
      const bytes = w.shape.reduce((a, b) => a * b, 1) * bytesPerValue(w);
      if (needed.has(w.name.split('/')[0]!)) {
        specs.push(w);
        parts.push(data.subarray(offset, offset + bytes));
      }
      offset += bytes;
    }
    if (offset !== data.length)
      throw new Error(`InceptionV3 weights: the manifest describes ${offset} bytes, the shards hold ${data.length}`);
  }
  const weights = Buffer.concat(parts);
  return {
    modelTopology: topology,
    weightSpecs: specs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

/** The network, loaded once per process and backend. */
export class FeatureNetwork {
  private constructor(readonly model: tf.LayersModel) {}

  static async load(): Promise<FeatureNetwork> {
    const model = await tf.loadLayersModel(tf.io.fromMemory(mixed5Artifacts()));
    const out = model.outputs[0]!.shape;
    if (out.join() !== [null, 17, 17, FEATURE_DIM].join())
      throw new Error(`InceptionV3 cut at ${FEATURE_LAYER} gives [${out}], expected [null,17,17,${FEATURE_DIM}]`);
    return new FeatureNetwork(model);
  }

  /**
   * [N,S,S,3] in [-1, 1] → [N,768], differentiable (projection takes gradients through it):
   * the Lanczos resize to 299², the network up to mixed5, the spatial mean.
   */
  embed(images: tf.Tensor4D): tf.Tensor2D {
    const x = resizeSquare(images, FEATURE_INPUT); // [N,299,299,3]
    const maps = this.model.apply(x, { training: false }) as tf.Tensor4D; // [N,17,17,768]
    return tf.mean(maps, [1, 2]) as tf.Tensor2D; // [N,768]
  }

  /** Features of uint8 RGB squares of side `side` (row-major RGB): [n × 768], in batches. */
  async features(images: Uint8Array[], side: number, signal?: AbortSignal): Promise<Float32Array> {
    const out = new Float32Array(images.length * FEATURE_DIM);
    const px = side * side * 3;
    for (let first = 0; first < images.length; first += FEATURE_BATCH) {
      signal?.throwIfAborted();
      const batch = images.slice(first, first + FEATURE_BATCH);
      const flat = new Uint8Array(batch.length * px);
      batch.forEach((img, k) => {
        if (img.length !== px) throw new RangeError(`image ${first + k} has ${img.length} bytes, not ${side}²×3`);
        flat.set(img, k * px);
      });
      const f = tf.tidy(() => {
        const x = tf.sub(tf.div(tf.tensor4d(flat, [batch.length, side, side, 3], 'float32'), 127.5), 1);
        return this.embed(x as tf.Tensor4D);
      });
      try {
        out.set((await f.data()) as Float32Array, first * FEATURE_DIM);
      } finally {
        f.dispose();
      }
      // Let a cancel and other events through between batches.
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}

let shared: Promise<FeatureNetwork> | null = null;
let sharedBackend = '';

/** The process's network (built on first use; again after a backend change). */
export function featureNetwork(): Promise<FeatureNetwork> {
  if (!shared || sharedBackend !== tf.getBackend()) {
    sharedBackend = tf.getBackend();
    shared = FeatureNetwork.load();
    shared.catch(() => (shared = null));
  }
  return shared;
}
