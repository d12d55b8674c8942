/**
 * stylegan2-ada-pytorch (and stylegan3's StyleGAN2 config) snapshots: a dict of G, D, G_ema,
 * augment_pipe and training_set_kwargs. Each network is a persistent object,
 * `_reconstruct_persistent_obj({type, version, module_src, class_name, state})`; Python would
 * exec `module_src` to rebuild it, Plumage only walks `state`: `_parameters` and `_buffers`
 * (tensors), `_modules` (children, named with dots as in state_dict) and `_init_kwargs` (the
 * constructor arguments, with the reference's defaults where absent).
 */
import { NetworkFileError } from './errors.js';
import { configFor, kimgFromName, mismatch, type NetworkName, type NetworkPickle } from './network.js';
import { numpyScalar } from './numpy.js';
import { readTensor, tensorOf, type ParseContext, type TensorRef } from './torch.js';
import { PyCall, PyDict, PyList, PyTuple, describe, type PyValue } from './values.js';

const MAX_MODULES = 100_000; // a 1024² G, D and G_ema have under 1000
const MAX_DEPTH = 32;

interface Persistent {
  className: string;
  state: PyDict;
}

function persistentOf(v: PyValue | undefined): Persistent | null {
  if (!(v instanceof PyCall) || v.fn.qualified !== 'torch_utils.persistence._reconstruct_persistent_obj') return null;
  const meta = v.args[0];
  if (!(meta instanceof PyDict)) return null;
  const className = meta.get('class_name');
  const state = meta.get('state');
  if (typeof className !== 'string' || !(state instanceof PyDict)) return null;
  // meta.module_src is deliberately never looked at beyond this point: it is code.
  return { className, state };
}

/** Every tensor under a module, by dotted name; a budget keeps a hostile graph from exploding. */
function collect(ctx: ParseContext, root: Persistent, prefix: string, out: Map<string, TensorRef>): void {
  const file = ctx.file;
  let visited = 0;
  const walk = (m: Persistent, path: string, depth: number): void => {
    if (++visited > MAX_MODULES || depth > MAX_DEPTH)
      throw new NetworkFileError(file, 'is refused: its modules nest too deep or too many to be a network');
    for (const key of ['_parameters', '_buffers']) {
      const d = m.state.get(key);
      if (!(d instanceof PyDict)) continue;
      for (const [name, value] of d.map) {
        if (typeof name !== 'string' || value === null) continue;
        const t = tensorOf(value, ctx);
        if (!t) throw new NetworkFileError(file, `is damaged: ${path}${name} is ${describe(value)}, not a tensor`);
        out.set(`${path}${name}`, t);
      }
    }
    const children = m.state.get('_modules');
    if (!(children instanceof PyDict)) return;
    for (const [name, child] of children.map) {
      if (typeof name !== 'string' || child === null) continue;
      const p = persistentOf(child);
      if (!p) throw new NetworkFileError(file, `is damaged or not a network: ${path}${name} is ${describe(child)}`);
      walk(p, `${path}${name}.`, depth + 1);
    }
  };
  walk(root, `${prefix}.`, 0);
}

/** A kwargs dict's value, the reference's default when absent or None. */
function kw<T>(d: PyValue | undefined, key: string, fallback: T): T | PyValue {
  if (!(d instanceof PyDict)) return fallback;
  const v = d.get(key);
  return v === undefined || v === null ? fallback : (numpyScalar(v) ?? v);
}

function num(file: string, where: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new NetworkFileError(file, `is damaged: ${where} is not a number`);
  return v;
}

const isFilter1331 = (v: unknown): boolean =>
  (v instanceof PyList || v instanceof PyTuple) && v.items.join() === '1,3,3,1';

export function readPytorchSnapshot(ctx: ParseContext, root: PyDict): NetworkPickle {
  const file = ctx.file;
  const nets: Partial<Record<NetworkName, Persistent>> = {};
  for (const key of ['G', 'D', 'G_ema'] as const) {
    const v = root.get(key);
    if (v === undefined || v === null) continue;
    const p = persistentOf(v);
    if (!p) throw new NetworkFileError(file, `is not a StyleGAN2 network pickle: its ${key} is ${describe(v)}`);
    nets[key] = p;
  }
  const G = nets.G_ema ?? nets.G;
  if (!G) throw new NetworkFileError(file, `holds no generator (it is ${describe(root)})`);
  if (G.className !== 'Generator')
    throw new NetworkFileError(file, `holds a ${G.className}, not a StyleGAN2 generator`);

  const tensors = new Map<string, TensorRef>();
  for (const [key, p] of Object.entries(nets)) collect(ctx, p, key, tensors);

  // ── the architecture: constructor arguments with the reference's defaults ──
  const g = G.state.get('_init_kwargs');
  const mk = kw(g, 'mapping_kwargs', null);
  const sk = kw(g, 'synthesis_kwargs', null);
  const synthesisModules = G.state.get('_modules');
  const synthesis = synthesisModules instanceof PyDict ? persistentOf(synthesisModules.get('synthesis')) : null;
  const synthesisChildren = synthesis?.state.get('_modules');
  if (
    synthesisChildren instanceof PyDict &&
    [...synthesisChildren.map.keys()].some((k) => k === 'input' || /^L\d+_/.test(String(k)))
  ) {
    const radial = kw(sk, 'use_radial_filters', false) === true || kw(sk, 'conv_kernel', 3) === 1;
    throw new NetworkFileError(
      file,
      `is a StyleGAN3 network (the alias-free config ${radial ? 'r' : 't'}): Plumage draws and trains StyleGAN2 networks only`,
    );
  }
  const cDim = num(file, 'c_dim', kw(g, 'c_dim', 0));
  if (cDim > 0)
    throw new NetworkFileError(
      file,
      `is a conditional network (${cDim} classes): Plumage draws unconditional StyleGAN2 networks only, for now`,
    );
  const refuse = (what: string): never => {
    throw new NetworkFileError(file, `is a StyleGAN2 variant Plumage does not draw: ${what}`);
  };
  const arch = kw(sk, 'architecture', 'skip');
  if (arch !== 'skip') refuse(`the '${String(arch)}' generator architecture (Plumage's is 'skip', config F)`);
  if (kw(sk, 'activation', 'lrelu') !== 'lrelu' || kw(mk, 'activation', 'lrelu') !== 'lrelu')
    refuse('an activation other than lrelu');
  if (kw(sk, 'use_noise', true) !== true) refuse('no noise inputs');
  if (!isFilter1331(kw(sk, 'resample_filter', new PyList())) && kw(sk, 'resample_filter', null) !== null)
    refuse('a resampling filter other than [1,3,3,1]');
  for (const k of ['layer_features', 'embed_features'])
    if (kw(mk, k, null) !== null && kw(mk, k, null) !== kw(g, 'w_dim', 512)) refuse(`mapping ${k} ≠ w_dim`);

  const d = nets.D?.state.get('_init_kwargs');
  const ek = kw(d, 'epilogue_kwargs', null);
  const config = configFor(file, {
    zDim: num(file, 'z_dim', kw(g, 'z_dim', null)),
    wDim: num(file, 'w_dim', kw(g, 'w_dim', null)),
    resolution: num(file, 'img_resolution', kw(g, 'img_resolution', null)),
    imgChannels: num(file, 'img_channels', kw(g, 'img_channels', null)),
    mappingLayers: num(file, 'mapping num_layers', kw(mk, 'num_layers', 8)),
    mappingLrMultiplier: num(file, 'mapping lr_multiplier', kw(mk, 'lr_multiplier', 0.01)),
    wAvgBeta: num(file, 'w_avg_beta', kw(mk, 'w_avg_beta', 0.995)),
    channelBase: num(file, 'channel_base', kw(sk, 'channel_base', 32768)),
    channelMax: num(file, 'channel_max', kw(sk, 'channel_max', 512)),
    mbstdGroupSize: num(file, 'mbstd_group_size', kw(ek, 'mbstd_group_size', 4)),
    mbstdChannels: num(file, 'mbstd_num_channels', kw(ek, 'mbstd_num_channels', 1)),
  });

  const src = {
    has: (n: string) => tensors.has(n),
    shape: (n: string) => tensors.get(n)!.shape,
  };
  const networks: NetworkName[] = [];
  const notes: string[] = [];
  for (const net of ['G_ema', 'G', 'D'] as const) {
    if (!nets[net]) continue;
    const why = mismatch(src, config, net);
    if (why === null) networks.push(net);
    else if (net === 'G_ema' || (net === 'G' && !nets.G_ema))
      throw new NetworkFileError(file, `is damaged or not a StyleGAN2 generator: ${why}`);
    else notes.push(`its ${net} cannot be used (${why})`);
  }
  if (d instanceof PyDict) {
    if (kw(d, 'architecture', 'resnet') !== 'resnet' && networks.includes('D')) {
      networks.splice(networks.indexOf('D'), 1);
      notes.push(`its D uses the '${String(kw(d, 'architecture', ''))}' architecture (Plumage's is 'resnet')`);
    }
    if (kw(d, 'channel_base', 32768) !== config.channelBase && networks.includes('D')) {
      networks.splice(networks.indexOf('D'), 1);
      notes.push("its D's channel_base differs from G's");
    }
    if (kw(d, 'c_dim', 0) !== 0 && networks.includes('D')) networks.splice(networks.indexOf('D'), 1);
  }
  if (!networks.includes('G_ema') && networks.includes('G')) notes.push('it has no G_ema: G stands in for it');

  const augment = persistentOf(root.get('augment_pipe'));
  const pBuf = augment?.state.get('_buffers');
  const pRef = pBuf instanceof PyDict ? tensorOf(pBuf.get('p'), ctx) : null;
  const augmentP = pRef && pRef.shape.length === 0 ? readTensor(pRef)[0]! : null;

  // Only the usable networks' tensors are offered, with G standing in for a missing G_ema.
  const offered = new Map<string, TensorRef>();
  for (const [name, t] of tensors) {
    const net = name.slice(0, name.indexOf('.')) as NetworkName;
    if (networks.includes(net)) offered.set(name, t);
  }
  if (!networks.includes('G_ema'))
    for (const [name, t] of tensors) if (name.startsWith('G.')) offered.set(`G_ema.${name.slice(2)}`, t);
  return {
    file,
    kind: 'stylegan2-ada-pytorch',
    config,
    networks: networks.includes('G_ema') ? networks : ['G_ema', ...networks],
    kimg: kimgFromName(file),
    augmentP,
    notes,
    names: [...offered.keys()],
    shape: (n) => lookup(file, offered, n).shape,
    read: (n) => readTensor(lookup(file, offered, n)),
  };
}

function lookup(file: string, m: Map<string, TensorRef>, name: string): TensorRef {
  const t = m.get(name);
  if (!t) throw new NetworkFileError(file, `has no tensor ${name}`);
  return t;
}
