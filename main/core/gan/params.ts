/**
 * Parameters and buffers under the reference's state_dict names (docs/stylegan2-names.md).
 * Each is held as a tfjs variable in tfjs layout (conv [kh,kw,in,out], fc [in,out], NHWC
 * flattening) and converted to the reference layout (conv [out,in,kh,kw], fc [out,in], NCHW
 * flattening) only when written to or read from a file.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RandomState } from './rng.js';

export type Layout =
  | 'conv' // ref [out,in,kh,kw] ↔ tfjs [kh,kw,in,out]
  | 'fc' // ref [out,in] ↔ tfjs [in,out]
  | 'fc-chw' // ref [out, C·H·W] (NCHW flatten) ↔ tfjs [H·W·C, out] (NHWC flatten); `chw` says C,H,W
  | 'chw' // ref [C,H,W] ↔ tfjs [H,W,C] (the learned constant)
  | 'plain'; // same in both (biases, scalars, filters, noise_const, w_avg)

export type Init = 'randn' | 'randn-lr' | 'zeros' | 'ones' | 'filter';

export interface ParamSpec {
  /** Reference name without the network prefix, e.g. `synthesis.b8.conv0.weight`. */
  name: string;
  /** Shape in the reference layout. */
  refShape: number[];
  layout: Layout;
  init: Init;
  /** Learned (Adam updates it) or a buffer. */
  trainable: boolean;
  /** For 'randn-lr': weights are drawn N(0,1)/lrMultiplier. */
  lrMultiplier?: number;
  /** For 'fc-chw': the feature map's [C,H,W]. */
  chw?: [number, number, number];
}

export function tfjsShape(spec: ParamSpec): number[] {
  const s = spec.refShape;
  switch (spec.layout) {
    case 'conv':
      return [s[2]!, s[3]!, s[1]!, s[0]!];
    case 'fc':
    case 'fc-chw':
      return [s[1]!, s[0]!];
    case 'chw':
      return [s[1]!, s[2]!, s[0]!];
    case 'plain':
      return s;
  }
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

const layoutMaps = new WeakMap<ParamSpec, Uint32Array>();

/**
 * For each element in the reference layout, its index in the tfjs layout (cached per spec):
 * one map serves both directions.
 */
function tfjsIndexOf(spec: ParamSpec): Uint32Array | null {
  if (spec.layout === 'plain') return null;
  let map = layoutMaps.get(spec);
  if (map) return map;
  const s = spec.refShape;
  map = new Uint32Array(size(s));
  let i = 0;
  switch (spec.layout) {
    case 'conv': {
      const [o, n, kh, kw] = s as [number, number, number, number]; // ref [out,in,kh,kw] → tfjs [kh,kw,in,out]
      for (let a = 0; a < o; a++)
        for (let b = 0; b < n; b++)
          for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) map[i++] = ((y * kw + x) * n + b) * o + a;
      break;
    }
    case 'fc': {
      const [o, n] = s as [number, number]; // ref [out,in] → tfjs [in,out]
      for (let a = 0; a < o; a++) for (let b = 0; b < n; b++) map[i++] = b * o + a;
      break;
    }
    case 'fc-chw': {
      const [o] = s as [number, number]; // ref [out, C·H·W] → tfjs [H·W·C, out]
      const [c, h, w] = spec.chw!;
      for (let a = 0; a < o; a++)
        for (let ch = 0; ch < c; ch++)
          for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) map[i++] = ((y * w + x) * c + ch) * o + a;
      break;
    }
    case 'chw': {
      const [c, h, w] = s as [number, number, number]; // ref [C,H,W] → tfjs [H,W,C]
      for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) map[i++] = (y * w + x) * c + ch;
      break;
    }
  }
  layoutMaps.set(spec, map);
  return map;
}

/** Reference layout → tfjs layout (a fresh array). */
export function refToTfjs(spec: ParamSpec, ref: Float32Array): Float32Array {
  const map = tfjsIndexOf(spec);
  if (!map) return Float32Array.from(ref);
  const out = new Float32Array(ref.length);
  for (let i = 0; i < map.length; i++) out[map[i]!] = ref[i]!;
  return out;
}

/** tfjs layout → reference layout (a fresh array). */
export function tfjsToRef(spec: ParamSpec, t: Float32Array): Float32Array {
  const map = tfjsIndexOf(spec);
  if (!map) return Float32Array.from(t);
  const out = new Float32Array(t.length);
  for (let i = 0; i < map.length; i++) out[i] = t[map[i]!]!;
  return out;
}

/** Initial values in the reference layout, drawn as the reference's constructors draw them. */
export function initialValues(spec: ParamSpec, rng: RandomState, filter: Float32Array): Float32Array {
  const n = size(spec.refShape);
  switch (spec.init) {
    case 'randn':
      return rng.randnF32(n);
    case 'randn-lr':
      return rng.randnF32(n, 1 / (spec.lrMultiplier ?? 1));
    case 'zeros':
      return new Float32Array(n);
    case 'ones':
      return new Float32Array(n).fill(1);
    case 'filter':
      return Float32Array.from(filter);
  }
}

/**
 * A variable holding `initial`'s values, `initial` itself disposed. tf.variable shares the
 * tensor's data and counts a reference to it, so a tensor left undisposed kept every weight of a
 * disposed network alive: each model the gallery switched to leaked the last one's weights
 * (measured: +94 tensors, +77 MB of wasm heap per reload of a 64² generator).
 */
export function variableOf(initial: tf.Tensor, trainable: boolean, name: string): tf.Variable {
  const v = tf.variable(initial, trainable, name);
  initial.dispose();
  return v;
}

let instanceCounter = 0;

/**
 * One network's parameters (G, G_ema or D) as tfjs variables. Variable names are global to the
 * tfjs engine, so each instance gets a unique prefix; `get` takes the reference name.
 */
export class ParamSet {
  readonly specs: readonly ParamSpec[];
  readonly prefix: string;
  readonly #vars = new Map<string, tf.Variable>();

  constructor(prefix: string, specs: readonly ParamSpec[], refValues: (spec: ParamSpec) => Float32Array) {
    this.prefix = prefix;
    this.specs = specs;
    const unique = `${prefix}#${++instanceCounter}`;
    for (const spec of specs) {
      const values = refToTfjs(spec, refValues(spec));
      this.#vars.set(
        spec.name,
        variableOf(tf.tensor(values, tfjsShape(spec)), spec.trainable, `${unique}/${spec.name}`),
      );
    }
  }

  /**
   * A set whose values are read one by one (from a file), each checked against its spec's size;
   * the variables are made only once every value is in, so a failed read allocates none.
   */
  static async load(
    prefix: string,
    specs: readonly ParamSpec[],
    read: (spec: ParamSpec) => Promise<Float32Array>,
  ): Promise<ParamSet> {
    const values = new Map<ParamSpec, Float32Array>();
    for (const spec of specs) {
      const data = await read(spec);
      if (data.length !== size(spec.refShape))
        throw new Error(`${prefix}.${spec.name}: expected ${size(spec.refShape)} values, got ${data.length}`);
      values.set(spec, data);
    }
    return new ParamSet(prefix, specs, (spec) => {
      const data = values.get(spec)!;
      values.delete(spec); // each array is garbage once its variable holds it
      return data;
    });
  }

  get<T extends tf.Tensor>(name: string): T {
    const v = this.#vars.get(name);
    if (!v) throw new Error(`${this.prefix} has no parameter ${name}`);
    return v as unknown as T;
  }

  variable(name: string): tf.Variable {
    return this.get<tf.Variable>(name);
  }

  trainable(): tf.Variable[] {
    return this.specs.filter((s) => s.trainable).map((s) => this.variable(s.name));
  }

  /** Reference-layout values of every tensor, keyed by full name (`G.mapping.fc0.weight`). */
  async exportRef(): Promise<Map<string, { spec: ParamSpec; data: Float32Array }>> {
    const out = new Map<string, { spec: ParamSpec; data: Float32Array }>();
    for (const spec of this.specs) {
      const data = (await this.variable(spec.name).data()) as Float32Array;
      out.set(`${this.prefix}.${spec.name}`, { spec, data: tfjsToRef(spec, data) });
    }
    return out;
  }

  /** Assigns every tensor from reference-layout values (checks shapes). */
  importRef(lookup: (fullName: string, spec: ParamSpec) => Float32Array): void {
    for (const spec of this.specs) {
      const full = `${this.prefix}.${spec.name}`;
      const data = lookup(full, spec);
      if (data.length !== size(spec.refShape))
        throw new Error(`${full}: expected ${size(spec.refShape)} values, got ${data.length}`);
      const v = this.variable(spec.name);
      tf.tidy(() => v.assign(tf.tensor(refToTfjs(spec, data), tfjsShape(spec))));
    }
  }

  /** Copies every value from another set with the same specs (G → G_ema at the start). */
  copyFrom(other: ParamSet): void {
    for (const spec of this.specs) this.variable(spec.name).assign(other.variable(spec.name));
  }

  dispose(): void {
    for (const v of this.#vars.values()) v.dispose();
    this.#vars.clear();
  }

  /** Number of values (trainable only, or all). */
  count(trainableOnly = true): number {
    return this.specs.filter((s) => !trainableOnly || s.trainable).reduce((a, s) => a + size(s.refShape), 0);
  }
}
