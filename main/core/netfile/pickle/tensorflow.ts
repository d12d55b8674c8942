/**
 * TensorFlow StyleGAN2 / StyleGAN2-ADA pickles: a tuple (G, D, Gs) of `dnnlib.tflib.network.Network`
 * states {version, name, static_kwargs, components, build_module_src, build_func_name, variables}.
 * The variables are converted to the reference's names and layouts by the rules of the
 * reference's `legacy.py` (our own code): dense weights transposed, conv kernels
 * [kh,kw,in,out] → [out,in,kh,kw], the up-sampling conv's kernel also flipped, modulation biases
 * + 1, the learned constant and noise buffers without their leading unit axes. `build_module_src`
 * is code and is never looked at.
 */
import { discriminatorSpecs } from '../../gan/discriminator.js';
import { generatorSpecs } from '../../gan/generator.js';
import { resampleFilter2d } from '../../gan/ops.js';
import { NetworkFileError } from './errors.js';
import { configFor, kimgFromName, mismatch, type NetworkName, type NetworkPickle } from './network.js';
import { ndarrayOf, numpyScalar, readArray, type NdArray } from './numpy.js';
import { PyCall, PyDict, PyList, PyTuple, describe, type PyValue } from './values.js';

const G_KWARGS = new Set([
  'latent_size', 'label_size', 'dlatent_size', 'resolution', 'num_channels', 'mapping_layers', 'label_fmaps',
  'mapping_fmaps', 'mapping_nonlinearity', 'mapping_lrmul', 'w_avg_beta', 'fmap_base', 'fmap_max', 'num_fp16_res',
  'conv_clamp', 'architecture', 'resample_kernel', 'use_noise', 'nonlinearity', 'truncation_psi',
  'truncation_cutoff', 'style_mixing_prob', 'structure',
]); // prettier-ignore
const D_KWARGS = new Set([
  'label_size', 'resolution', 'num_channels', 'architecture', 'fmap_base', 'fmap_max', 'num_fp16_res', 'conv_clamp',
  'mapping_fmaps', 'nonlinearity', 'resample_kernel', 'freeze_layers', 'mapping_layers', 'mapping_lrmul',
  'mbstd_group_size', 'mbstd_num_features', 'structure',
]); // prettier-ignore

interface TfNet {
  version: number;
  kwargs: PyDict;
  buildFunc: string;
  vars: Map<string, NdArray>;
}

export function isTfNetwork(v: PyValue | undefined): v is PyCall {
  return v instanceof PyCall && v.fn.qualified === 'dnnlib.tflib.network.Network';
}

function tfNet(file: string, v: PyCall, what: string): TfNet {
  const damaged = (why: string): never => {
    throw new NetworkFileError(file, `is damaged or not a network pickle: ${what} ${why}`);
  };
  const vars = new Map<string, NdArray>();
  let nets = 0;
  const walk = (net: PyCall, prefix: string, depth: number): PyDict => {
    if (++nets > 64 || depth > 4) damaged('has components nested too deep');
    const st = net.state;
    if (!(st instanceof PyDict)) return damaged('has no state');
    const list = st.get('variables');
    if (list instanceof PyList)
      for (const item of list.items) {
        if (!(item instanceof PyTuple) || typeof item.items[0] !== 'string') return damaged('has a malformed variable');
        const name = item.items[0];
        const arr = ndarrayOf(item.items[1], (why) => damaged(`variable ${name} is ${why}`));
        if (arr) vars.set(prefix + name, arr);
        else {
          const x = numpyScalar(item.items[1]) ?? item.items[1];
          if (typeof x !== 'number') return damaged(`variable ${name} is ${describe(item.items[1])}`);
          vars.set(prefix + name, { dtype: 'float64', shape: [], data: float64(x), fortran: false });
        }
      }
    const comps = st.get('components');
    if (comps instanceof PyDict)
      for (const [name, c] of comps.map) {
        if (typeof name !== 'string' || !isTfNetwork(c)) return damaged(`component ${String(name)} is not a network`);
        walk(c, `${prefix}${name}/`, depth + 1);
      }
    return st;
  };
  const st = walk(v, '', 0);
  const version = st.get('version');
  const kwargs = st.get('static_kwargs');
  const func = st.get('build_func_name');
  return {
    version: typeof version === 'number' ? version : 0,
    kwargs: kwargs instanceof PyDict ? kwargs : new PyDict(),
    buildFunc: typeof func === 'string' ? func : '',
    vars,
  };
}

function float64(x: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return b;
}

type Op = 'same' | 'T' | 'conv' | 'conv-flip' | 'plus1' | 'first' | 'noise';

/** The TF variable and conversion of each reference name of G (legacy.py's table, restated). */
function generatorRule(name: string): [string, Op] | null {
  let m: RegExpExecArray | null;
  if (name === 'mapping.w_avg') return ['dlatent_avg', 'same'];
  if ((m = /^mapping\.fc(\d+)\.(weight|bias)$/.exec(name)))
    return [`mapping/Dense${m[1]}/${m[2]}`, m[2] === 'weight' ? 'T' : 'same'];
  if (name === 'synthesis.b4.const') return ['synthesis/4x4/Const/const', 'first'];
  if ((m = /^synthesis\.b(\d+)\.(conv0|conv1|torgb)\.(.+)$/.exec(name))) {
    const r = Number(m[1]);
    const layer = m[2] === 'torgb' ? 'ToRGB' : r === 4 ? 'Conv' : m[2] === 'conv0' ? 'Conv0_up' : 'Conv1';
    const base = `synthesis/${r}x${r}/${layer}`;
    switch (m[3]) {
      case 'weight':
        return [`${base}/weight`, m[2] === 'conv0' ? 'conv-flip' : 'conv'];
      case 'bias':
      case 'noise_strength':
        return [`${base}/${m[3]}`, 'same'];
      case 'affine.weight':
        return [`${base}/mod_weight`, 'T'];
      case 'affine.bias':
        return [`${base}/mod_bias`, 'plus1'];
      case 'noise_const':
        return [`synthesis/noise${Math.log2(r) * 2 - (m[2] === 'conv0' ? 5 : 4)}`, 'noise'];
    }
  }
  return null;
}

function discriminatorRule(name: string): [string, Op] | null {
  let m: RegExpExecArray | null;
  if ((m = /^b(\d+)\.fromrgb\.(weight|bias)$/.exec(name)))
    return [`${m[1]}x${m[1]}/FromRGB/${m[2]}`, m[2] === 'weight' ? 'conv' : 'same'];
  if ((m = /^b(\d+)\.conv(0|1)\.(weight|bias)$/.exec(name)))
    return [`${m[1]}x${m[1]}/Conv${m[2]}${m[2] === '1' ? '_down' : ''}/${m[3]}`, m[3] === 'weight' ? 'conv' : 'same'];
  if ((m = /^b(\d+)\.skip\.weight$/.exec(name))) return [`${m[1]}x${m[1]}/Skip/weight`, 'conv'];
  if ((m = /^b4\.conv\.(weight|bias)$/.exec(name))) return [`4x4/Conv/${m[1]}`, m[1] === 'weight' ? 'conv' : 'same'];
  if ((m = /^b4\.fc\.(weight|bias)$/.exec(name))) return [`4x4/Dense0/${m[1]}`, m[1] === 'weight' ? 'T' : 'same'];
  if ((m = /^b4\.out\.(weight|bias)$/.exec(name))) return [`Output/${m[1]}`, m[1] === 'weight' ? 'T' : 'same'];
  return null;
}

/** The shape after `op`, or null when the TF array cannot take it. */
function convertedShape(op: Op, s: number[]): number[] | null {
  switch (op) {
    case 'same':
    case 'plus1':
      return s;
    case 'T':
      return s.length === 2 ? [s[1]!, s[0]!] : null;
    case 'conv':
    case 'conv-flip':
      return s.length === 4 ? [s[3]!, s[2]!, s[0]!, s[1]!] : null;
    case 'first':
      return s.length >= 1 && s[0] === 1 ? s.slice(1) : null;
    case 'noise':
      return s.length === 4 && s[0] === 1 && s[1] === 1 ? s.slice(2) : null;
  }
}

function convert(op: Op, a: NdArray): Float32Array {
  const v = readArray(a);
  const s = a.shape;
  switch (op) {
    case 'same':
    case 'first':
    case 'noise':
      return v;
    case 'plus1':
      return v.map((x) => x + 1);
    case 'T': {
      const [r, c] = s as [number, number];
      const out = new Float32Array(v.length);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = v[i * c + j]!;
      return out;
    }
    case 'conv':
    case 'conv-flip': {
      const [kh, kw, cin, cout] = s as [number, number, number, number];
      const flip = op === 'conv-flip';
      const out = new Float32Array(v.length);
      let i = 0;
      for (let o = 0; o < cout; o++)
        for (let n = 0; n < cin; n++)
          for (let y = 0; y < kh; y++)
            for (let x = 0; x < kw; x++) {
              const sy = flip ? kh - 1 - y : y;
              const sx = flip ? kw - 1 - x : x;
              out[i++] = v[((sy * kw + sx) * cin + n) * cout + o]!;
            }
      return out;
    }
  }
}

function kwNum(file: string, kwargs: PyDict, key: string, fallback: number): number {
  const raw = kwargs.get(key);
  const v = raw === undefined || raw === null ? fallback : (numpyScalar(raw) ?? raw);
  if (typeof v !== 'number')
    throw new NetworkFileError(file, `is damaged: its TensorFlow option ${key} is not a number`);
  return v;
}

export function readTfNetworks(file: string, tuple: PyTuple): NetworkPickle {
  const [tG, tD, tGs] = tuple.items as [PyCall, PyCall, PyCall];
  const G = tfNet(file, tG, 'G');
  const D = tfNet(file, tD, 'D');
  const Gs = tfNet(file, tGs, 'Gs');
  if (Gs.buildFunc === 'G_style' || Gs.version < 4)
    throw new NetworkFileError(
      file,
      Gs.buildFunc === 'G_style'
        ? 'holds a StyleGAN (version 1) network: Plumage opens StyleGAN2 networks only'
        : `holds a TensorFlow network of version ${Gs.version}, older than StyleGAN2's (4): Plumage opens StyleGAN2 networks only`,
    );
  for (const [net, known] of [
    [Gs, G_KWARGS],
    [D, D_KWARGS],
  ] as const)
    for (const key of net.kwargs.map.keys())
      if (typeof key !== 'string' || !known.has(key))
        throw new NetworkFileError(
          file,
          `uses the TensorFlow option ${String(key)}, which Plumage's conversion (like the reference's) does not know`,
        );
  const k = Gs.kwargs;
  const labels = kwNum(file, k, 'label_size', 0);
  if (labels > 0)
    throw new NetworkFileError(
      file,
      `is a conditional network (${labels} classes): Plumage draws unconditional StyleGAN2 networks only, for now`,
    );
  const arch = k.get('architecture') ?? 'skip';
  const refuse = (what: string): never => {
    throw new NetworkFileError(file, `is a StyleGAN2 variant Plumage does not draw: ${what}`);
  };
  if ([...Gs.vars.keys()].some((n) => /ToRGB_lod\d+/.test(n)) || arch !== 'skip')
    refuse(`the '${arch === 'skip' ? 'orig' : String(arch)}' generator architecture (Plumage's is 'skip', config F)`);
  for (const key of ['nonlinearity', 'mapping_nonlinearity'])
    if ((k.get(key) ?? 'lrelu') !== 'lrelu') refuse('an activation other than lrelu');
  if ((k.get('use_noise') ?? true) !== true) refuse('no noise inputs');
  const rk = k.get('resample_kernel');
  if (
    rk !== undefined &&
    rk !== null &&
    !((rk instanceof PyList || rk instanceof PyTuple) && rk.items.join() === '1,3,3,1')
  )
    refuse('a resampling filter other than [1,3,3,1]');

  const wDim = kwNum(file, k, 'dlatent_size', 512);
  for (const key of ['mapping_fmaps', 'label_fmaps'])
    if (k.get(key) !== undefined && k.get(key) !== null && kwNum(file, k, key, wDim) !== wDim)
      refuse(`mapping ${key} ≠ dlatent_size`);
  const config = configFor(file, {
    zDim: kwNum(file, k, 'latent_size', 512),
    wDim,
    resolution: kwNum(file, k, 'resolution', 1024),
    imgChannels: kwNum(file, k, 'num_channels', 3),
    mappingLayers: kwNum(file, k, 'mapping_layers', 8),
    mappingLrMultiplier: kwNum(file, k, 'mapping_lrmul', 0.01),
    wAvgBeta: kwNum(file, k, 'w_avg_beta', 0.995),
    channelBase: kwNum(file, k, 'fmap_base', 16384) * 2,
    channelMax: kwNum(file, k, 'fmap_max', 512),
    mbstdGroupSize: kwNum(file, D.kwargs, 'mbstd_group_size', 4),
    mbstdChannels: kwNum(file, D.kwargs, 'mbstd_num_features', 1),
  });

  // The converted tensors, each computed when read.
  const table = new Map<string, { shape: number[]; read: () => Float32Array }>();
  const filter = resampleFilter2d();
  const add = (net: NetworkName, tf: TfNet, name: string, rule: [string, Op] | null): void => {
    const full = `${net}.${name}`;
    if (name.endsWith('resample_filter')) {
      table.set(full, { shape: [4, 4], read: () => Float32Array.from(filter) });
      return;
    }
    if (!rule) return;
    const arr = tf.vars.get(rule[0]);
    const shape = arr && convertedShape(rule[1], arr.shape);
    if (arr && shape) table.set(full, { shape, read: () => convert(rule[1], arr) });
  };
  for (const { name } of generatorSpecs(config)) {
    add('G_ema', Gs, name, generatorRule(name));
    add('G', G, name, generatorRule(name));
  }
  for (const { name } of discriminatorSpecs(config)) add('D', D, name, discriminatorRule(name));

  const src = { has: (n: string) => table.has(n), shape: (n: string) => table.get(n)!.shape };
  const networks: NetworkName[] = [];
  const notes: string[] = [];
  for (const net of ['G_ema', 'G', 'D'] as const) {
    const why = mismatch(src, config, net);
    if (why === null) networks.push(net);
    else if (net === 'G_ema') throw new NetworkFileError(file, `is damaged or not a StyleGAN2 generator: ${why}`);
    else notes.push(`its ${net} cannot be used (${why})`);
  }
  if ((D.kwargs.get('architecture') ?? 'resnet') !== 'resnet' && networks.includes('D')) {
    networks.splice(networks.indexOf('D'), 1);
    notes.push("its D does not use the 'resnet' architecture");
  }
  for (const name of [...table.keys()])
    if (!networks.includes(name.slice(0, name.indexOf('.')) as NetworkName)) table.delete(name);
  const lookup = (n: string): { shape: number[]; read: () => Float32Array } => {
    const t = table.get(n);
    if (!t) throw new NetworkFileError(file, `has no tensor ${n}`);
    return t;
  };
  return {
    file,
    kind: 'stylegan2-tf',
    config,
    networks,
    kimg: kimgFromName(file),
    augmentP: null,
    notes,
    names: [...table.keys()],
    shape: (n) => lookup(n).shape,
    read: (n) => lookup(n).read(),
  };
}

export const isTfTuple = (v: PyValue): v is PyTuple =>
  v instanceof PyTuple && v.items.length === 3 && v.items.every(isTfNetwork);
