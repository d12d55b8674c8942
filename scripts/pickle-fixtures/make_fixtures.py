"""Writes Plumage's network-pickle test fixtures (test/fixtures/pickles/).

Needs Python 3 with torch and numpy (Debian: python3-torch). The tests themselves only read the
files this writes. Nothing here comes from NVIDIA: the classes below are our own small modules
that pickle with the same structure as stylegan2-ada-pytorch's snapshots (a dict of G, D, G_ema,
augment_pipe and training_set_kwargs; each network a `torch_utils.persistence`
`_reconstruct_persistent_obj(meta)` call whose state holds `_parameters`, `_buffers`, `_modules`
and `_init_kwargs`; tensors as `torch._utils._rebuild_tensor_v2` over storages reduced to
`torch.storage._load_from_bytes`), and TensorFlow `dnnlib.tflib.network.Network` tuples. The
embedded `module_src` is a placeholder sentence of ours, never code. Weights are seeded draws.

    /usr/bin/python3 scripts/pickle-fixtures/make_fixtures.py test/fixtures/pickles
"""
import io
import json
import os
import pickle
import sys
import types

import numpy as np
import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else 'test/fixtures/pickles'
PLACEHOLDER_SRC = '# Plumage test fixture: no source code here. Readers must never execute module_src.\n'

# ── modules named as the reference's pickles name them (no code of theirs) ─────────────────

def _install(name):
    parts = name.split('.')
    for i in range(1, len(parts) + 1):
        mod_name = '.'.join(parts[:i])
        if mod_name not in sys.modules:
            sys.modules[mod_name] = types.ModuleType(mod_name)
            if i > 1:
                setattr(sys.modules['.'.join(parts[:i - 1])], parts[i - 1], sys.modules[mod_name])
    return sys.modules[name]


persistence = _install('torch_utils.persistence')
dnnlib_util = _install('dnnlib.util')
tf_network = _install('dnnlib.tflib.network')


def _reconstruct_persistent_obj(meta):  # only its name is pickled
    raise RuntimeError('fixture objects are not meant to be loaded back into Python')


_reconstruct_persistent_obj.__module__ = 'torch_utils.persistence'
persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj


class EasyDict(dict):
    pass


EasyDict.__module__ = 'dnnlib.util'
dnnlib_util.EasyDict = EasyDict


class Network:
    """Pickles as the TF networks do: the class by name, then its state dict."""

    def __init__(self, state):
        self._state = state

    def __getstate__(self):
        return self._state


Network.__module__ = 'dnnlib.tflib.network'
tf_network.Network = Network


class Persistent(torch.nn.Module):
    """A module that pickles as `_reconstruct_persistent_obj(meta)`, its state its __dict__."""

    def __init__(self, class_name, init_kwargs=None):
        super().__init__()
        self._class_name = class_name
        self._init_args = ()
        self._init_kwargs = init_kwargs or {}

    def __reduce__(self):
        state = {k: v for k, v in self.__dict__.items() if k != '_class_name'}
        meta = dict(type='class', version=6, module_src=PLACEHOLDER_SRC, class_name=self._class_name, state=state)
        return (_reconstruct_persistent_obj, (meta,), None)


def _filter():
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = f[:, None] * f[None, :]
    return f / f.sum()


def param(t):
    return torch.nn.Parameter(t, requires_grad=False)


def fc(inf, outf, lr=1.0, bias_init=0.0, activation='linear', bias=True):
    m = Persistent('FullyConnectedLayer', dict(in_features=inf, out_features=outf))
    m.activation = activation
    m.weight = param(torch.randn([outf, inf]) / lr)
    m.bias = param(torch.full([outf], float(bias_init)) + 0.1 * torch.randn([outf])) if bias else None
    m.weight_gain = lr / np.sqrt(inf)  # a numpy float64, as the reference's layers keep it
    m.bias_gain = lr
    return m


def conv(cin, cout, k, bias=True, trainable=True):
    m = Persistent('Conv2dLayer', dict(in_channels=cin, out_channels=cout, kernel_size=k))
    m.activation = 'lrelu'
    m.register_buffer('resample_filter', _filter())
    w = torch.randn([cout, cin, k, k])
    if trainable:
        m.weight = param(w)
        m.bias = param(0.1 * torch.randn([cout])) if bias else None
    else:  # Freeze-D keeps frozen layers' tensors as buffers, under the same names
        m.register_buffer('weight', w)
        if bias:
            m.register_buffer('bias', 0.1 * torch.randn([cout]))
        else:
            m.bias = None
    return m


def synthesis_layer(cin, cout, w_dim, res, k=3):
    m = Persistent('SynthesisLayer', dict(in_channels=cin, out_channels=cout, w_dim=w_dim, resolution=res))
    m.resolution = res
    m.activation = 'lrelu'
    m.affine = fc(w_dim, cin, bias_init=1)
    m.weight = param(torch.randn([cout, cin, k, k]))
    m.register_buffer('resample_filter', _filter())
    m.register_buffer('noise_const', torch.randn([res, res]))
    m.noise_strength = param(0.05 + 0.1 * torch.rand([]))
    m.bias = param(0.1 * torch.randn([cout]))
    return m


def torgb(cin, cout, w_dim):
    m = Persistent('ToRGBLayer', dict(in_channels=cin, out_channels=cout, w_dim=w_dim))
    m.affine = fc(w_dim, cin, bias_init=1)
    m.weight = param(0.25 * torch.randn([cout, cin, 1, 1]))  # keeps most pixels off the clamp
    m.bias = param(0.1 * torch.randn([cout]))
    return m


def channels(res, base, cmax):
    return min(base // res, cmax)


def generator(a):
    syn_kwargs = EasyDict(channel_base=a['channel_base'], channel_max=a['channel_max'], num_fp16_res=0, conv_clamp=None)
    map_kwargs = EasyDict(num_layers=a['mapping_layers'])
    G = Persistent('Generator', dict(z_dim=a['z_dim'], w_dim=a['w_dim'], mapping_kwargs=map_kwargs,
                                     synthesis_kwargs=syn_kwargs, c_dim=a['c_dim'],
                                     img_resolution=a['res'], img_channels=3))
    G.z_dim, G.c_dim, G.w_dim, G.img_resolution, G.img_channels = a['z_dim'], a['c_dim'], a['w_dim'], a['res'], 3
    S = Persistent('SynthesisNetwork', dict(w_dim=a['w_dim'], img_resolution=a['res'], img_channels=3))
    S.block_resolutions = [2 ** i for i in range(2, int(np.log2(a['res'])) + 1)]  # lists, as the reference keeps
    res = 4
    while res <= a['res']:
        b = Persistent('SynthesisBlock', dict(resolution=res))
        cout = channels(res, a['channel_base'], a['channel_max'])
        b.register_buffer('resample_filter', _filter())
        if res == 4:
            b.const = param(torch.randn([cout, 4, 4]))
        else:
            b.conv0 = synthesis_layer(channels(res // 2, a['channel_base'], a['channel_max']), cout, a['w_dim'], res)
        b.conv1 = synthesis_layer(cout, cout, a['w_dim'], res)
        b.torgb = torgb(cout, 3, a['w_dim'])
        setattr(S, f'b{res}', b)
        res *= 2
    G.synthesis = S
    M = Persistent('MappingNetwork', dict(z_dim=a['z_dim'], c_dim=a['c_dim'], w_dim=a['w_dim']))
    if a['c_dim'] > 0:
        M.embed = fc(a['c_dim'], a['w_dim'])
    for i in range(a['mapping_layers']):
        fin = a['z_dim'] + (a['w_dim'] if a['c_dim'] > 0 else 0) if i == 0 else a['w_dim']
        setattr(M, f'fc{i}', fc(fin, a['w_dim'], lr=0.01, activation='lrelu'))
    M.register_buffer('w_avg', 0.3 * torch.randn([a['w_dim']]))
    G.mapping = M
    return G


def discriminator(a, freeze=0):
    D = Persistent('Discriminator', dict(c_dim=a['c_dim'], img_resolution=a['res'], img_channels=3,
                                         channel_base=a['channel_base'], channel_max=a['channel_max'],
                                         num_fp16_res=0, conv_clamp=None,
                                         block_kwargs=EasyDict(freeze_layers=freeze), mapping_kwargs=EasyDict(),
                                         epilogue_kwargs=EasyDict(mbstd_group_size=4)))
    res, layer = a['res'], 0
    while res > 4:
        b = Persistent('DiscriminatorBlock', dict(resolution=res))
        cin, cout = channels(res, a['channel_base'], a['channel_max']), channels(res // 2, a['channel_base'], a['channel_max'])
        b.register_buffer('resample_filter', _filter())
        if res == a['res']:
            b.fromrgb = conv(3, cin, 1, trainable=layer >= freeze)
            layer += 1
        b.conv0 = conv(cin, cin, 3, trainable=layer >= freeze)
        b.conv1 = conv(cin, cout, 3, trainable=layer + 1 >= freeze)
        b.skip = conv(cin, cout, 1, bias=False, trainable=layer + 2 >= freeze)
        layer += 3
        setattr(D, f'b{res}', b)
        res //= 2
    c4 = channels(4, a['channel_base'], a['channel_max'])
    e = Persistent('DiscriminatorEpilogue', dict(in_channels=c4, cmap_dim=0, resolution=4))
    e.mbstd = Persistent('MinibatchStdLayer', dict(group_size=4, num_channels=1))
    e.conv = conv(c4 + 1, c4, 3)
    e.fc = fc(c4 * 16, c4, activation='lrelu')
    e.out = fc(c4, 1)
    D.b4 = e
    return D


def augment_pipe(p):
    m = Persistent('AugmentPipe', dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1,
                                       brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1))
    m.register_buffer('p', torch.tensor(p))
    m.register_buffer('Hz_geom', torch.randn([12]))
    return m


def snapshot(a, seed, p=0.125, freeze=0):
    torch.manual_seed(seed)
    G = generator(a)
    D = discriminator(a, freeze)
    torch.manual_seed(seed + 1)
    G_ema = generator(a)
    return dict(training_set_kwargs=dict(class_name='training.dataset.ImageFolderDataset', path='/data/birds.zip',
                                         use_labels=False, max_size=1000, xflip=False, resolution=a['res']),
                G=G, D=D, G_ema=G_ema, augment_pipe=augment_pipe(p))


def state_dict_of(m, prefix):
    return {f'{prefix}.{k}': v.detach().float().numpy() for k, v in m.state_dict().items()}


# ── TensorFlow layout: the inverse of the reference's legacy conversion ────────────────────

def tf_generator_vars(G, a):
    sd = {k: v.detach().numpy() for k, v in G.state_dict().items()}
    mapping = [(f'Dense{i}/weight', sd[f'mapping.fc{i}.weight'].T.copy()) for i in range(a['mapping_layers'])]
    mapping += [(f'Dense{i}/bias', sd[f'mapping.fc{i}.bias']) for i in range(a['mapping_layers'])]
    syn = []
    conv_w = lambda w: w.transpose(2, 3, 1, 0).copy()  # [out,in,kh,kw] → [kh,kw,in,out]
    res = 4
    while res <= a['res']:
        p, r = f'synthesis.b{res}', f'{res}x{res}'
        layers = [('conv1', 'Conv' if res == 4 else 'Conv1')] + ([] if res == 4 else [('conv0', 'Conv0_up')])
        if res == 4:
            syn.append((f'{r}/Const/const', sd[f'{p}.const'][None]))
        for ref, tfn in layers:
            w = conv_w(sd[f'{p}.{ref}.weight'])
            if ref == 'conv0':
                w = w[::-1, ::-1].copy()  # the up-sampling conv's kernel is stored flipped
            syn += [(f'{r}/{tfn}/weight', w), (f'{r}/{tfn}/bias', sd[f'{p}.{ref}.bias']),
                    (f'{r}/{tfn}/noise_strength', sd[f'{p}.{ref}.noise_strength']),
                    (f'{r}/{tfn}/mod_weight', sd[f'{p}.{ref}.affine.weight'].T.copy()),
                    (f'{r}/{tfn}/mod_bias', sd[f'{p}.{ref}.affine.bias'] - 1)]
            n = int(np.log2(res)) * 2 - (5 if ref == 'conv0' else 4)
            syn.append((f'noise{n}', sd[f'{p}.{ref}.noise_const'][None, None]))
        syn += [(f'{r}/ToRGB/weight', conv_w(sd[f'{p}.torgb.weight'])), (f'{r}/ToRGB/bias', sd[f'{p}.torgb.bias']),
                (f'{r}/ToRGB/mod_weight', sd[f'{p}.torgb.affine.weight'].T.copy()),
                (f'{r}/ToRGB/mod_bias', sd[f'{p}.torgb.affine.bias'] - 1)]
        res *= 2
    kwargs = dict(num_channels=3, resolution=a['res'], label_size=a['c_dim'], fmap_base=a['channel_base'] // 2,
                  fmap_max=a['channel_max'], latent_size=a['z_dim'], dlatent_size=a['w_dim'],
                  mapping_layers=a['mapping_layers'], truncation_psi=0.5)
    comp = lambda name, func, vars_: Network(dict(version=4, name=name, static_kwargs=dict(kwargs), components={},
                                                  build_module_src=PLACEHOLDER_SRC, build_func_name=func,
                                                  variables=vars_))
    state = dict(version=4, name='G', static_kwargs=kwargs,
                 components=dict(mapping=comp('G_mapping', 'G_mapping', mapping),
                                 synthesis=comp('G_synthesis', 'G_synthesis_stylegan2', syn)),
                 build_module_src=PLACEHOLDER_SRC, build_func_name='G_main',
                 variables=[('dlatent_avg', sd['mapping.w_avg'])])
    return Network(state)


def tf_discriminator(D, a):
    sd = {k: v.detach().numpy() for k, v in D.state_dict().items()}
    conv_w = lambda w: w.transpose(2, 3, 1, 0).copy()
    v = []
    res = a['res']
    while res > 4:
        p, r = f'b{res}', f'{res}x{res}'
        if res == a['res']:
            v += [(f'{r}/FromRGB/weight', conv_w(sd[f'{p}.fromrgb.weight'])), (f'{r}/FromRGB/bias', sd[f'{p}.fromrgb.bias'])]
        v += [(f'{r}/Conv0/weight', conv_w(sd[f'{p}.conv0.weight'])), (f'{r}/Conv0/bias', sd[f'{p}.conv0.bias']),
              (f'{r}/Conv1_down/weight', conv_w(sd[f'{p}.conv1.weight'])), (f'{r}/Conv1_down/bias', sd[f'{p}.conv1.bias']),
              (f'{r}/Skip/weight', conv_w(sd[f'{p}.skip.weight']))]
        res //= 2
    v += [('4x4/Conv/weight', conv_w(sd['b4.conv.weight'])), ('4x4/Conv/bias', sd['b4.conv.bias']),
          ('4x4/Dense0/weight', sd['b4.fc.weight'].T.copy()), ('4x4/Dense0/bias', sd['b4.fc.bias']),
          ('Output/weight', sd['b4.out.weight'].T.copy()), ('Output/bias', sd['b4.out.bias'])]
    kwargs = dict(num_channels=3, resolution=a['res'], label_size=a['c_dim'], fmap_base=a['channel_base'] // 2,
                  fmap_max=a['channel_max'], mbstd_group_size=4)
    return Network(dict(version=4, name='D', static_kwargs=kwargs, components={}, build_module_src=PLACEHOLDER_SRC,
                        build_func_name='D_stylegan2', variables=v))


# ── writing ───────────────────────────────────────────────────────────────────────────────

ARCH = dict(res=32, z_dim=32, w_dim=32, c_dim=0, mapping_layers=2, channel_base=256, channel_max=16)
SMALL = dict(res=8, z_dim=8, w_dim=8, c_dim=0, mapping_layers=1, channel_base=32, channel_max=4)  # refusals


def dump(obj, name, protocol=4):
    with open(os.path.join(OUT, name), 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)


def zip_storages():
    """Some torch versions reduce a storage to a zip-format torch.save; this writes that variant."""
    cls = torch.storage.TypedStorage if hasattr(torch.storage, 'TypedStorage') else torch.FloatStorage

    def reduce(self):
        b = io.BytesIO()
        torch.save(self, b, _use_new_zipfile_serialization=True)
        return (torch.storage._load_from_bytes, (b.getvalue(),))

    old = cls.__reduce__
    cls.__reduce__ = reduce
    return lambda: setattr(cls, '__reduce__', old)


def main():
    os.makedirs(OUT, exist_ok=True)
    snap = snapshot(ARCH, seed=7)
    dump(snap, 'network-snapshot-000120.pkl')
    restore = zip_storages()
    try:
        dump(snapshot(ARCH, seed=7), 'zip-storages.pkl')
    finally:
        restore()
    # The expected weights: every tensor by its state_dict name, float32 little-endian, one blob.
    tensors = {}
    for key in ('G', 'D', 'G_ema'):
        tensors.update(state_dict_of(snap[key], key))
    names = sorted(tensors)
    offsets, blob, at = {}, bytearray(), 0
    for n in names:
        data = np.ascontiguousarray(tensors[n], dtype='<f4').tobytes()
        offsets[n] = dict(shape=list(tensors[n].shape), offset=at)
        blob += data
        at += len(data)
    with open(os.path.join(OUT, 'expected-tensors.bin'), 'wb') as f:
        f.write(blob)
    with open(os.path.join(OUT, 'expected-tensors.json'), 'w') as f:
        json.dump(dict(about='state_dict of the fixture networks (float32 LE in expected-tensors.bin)',
                       augment_p=0.125, tensors=offsets), f, indent=0)
    # TensorFlow: the same weights in TF layout and naming, G, D, Gs as the TF repositories pickle them.
    tf = (tf_generator_vars(snap['G'], ARCH), tf_discriminator(snap['D'], ARCH), tf_generator_vars(snap['G_ema'], ARCH))
    dump(tf, 'stylegan2-tf.pkl', protocol=3)
    # Refusals: conditional, Freeze-D buffers (accepted), StyleGAN3-like, hostile ones are built by the tests.
    cond = dict(SMALL, c_dim=4)
    dump(snapshot(cond, seed=9), 'conditional.pkl')
    frozen = snapshot(SMALL, seed=7, freeze=4)
    dump(frozen, 'freezed-d.pkl')
    # A StyleGAN3 ('t') generator's shape: synthesis.input and L0_36_16 … layers instead of b4 … blocks.
    g3 = snapshot(SMALL, seed=11)
    S = Persistent('SynthesisNetwork', dict(w_dim=8, img_resolution=8, img_channels=3, channel_base=32,
                                            channel_max=4, num_layers=14, num_critical=2))
    S.input = Persistent('SynthesisInput', dict(w_dim=8, channels=4, size=12, sampling_rate=8, bandwidth=2))
    S.input.weight = param(torch.randn([4, 8]))
    S.L0_12_4 = synthesis_layer(4, 4, 8, 12)
    for key in ('G', 'G_ema'):
        g3[key].synthesis = S
    dump(g3, 'stylegan3-t.pkl')
    # TF pickle with a conditional generator (label_size > 0) and a StyleGAN1 one (G_style, version 3).
    small = snapshot(SMALL, seed=5)
    tf_cond = tf_generator_vars(small['G_ema'], SMALL)
    tf_cond._state['static_kwargs'] = dict(tf_cond._state['static_kwargs'], label_size=10)
    dump((tf_cond, tf_discriminator(small['D'], SMALL), tf_cond), 'tf-conditional.pkl', protocol=3)
    sg1 = Network(dict(version=3, name='G', static_kwargs=dict(resolution=32), components={},
                       build_module_src=PLACEHOLDER_SRC, build_func_name='G_style', variables=[('lod', np.float32(0))]))
    dump((sg1, sg1, sg1), 'stylegan1-tf.pkl', protocol=3)


if __name__ == '__main__':
    main()
