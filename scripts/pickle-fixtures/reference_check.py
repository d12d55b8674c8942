"""Draws birds from the fixture pickles with the reference implementation, for Plumage's tests.

    /usr/bin/python3 scripts/pickle-fixtures/reference_check.py --reference /path/to/stylegan2-ada-pytorch \
        [--genuine-out /tmp/genuine.pkl]

Needs a checkout of NVlabs/stylegan2-ada-pytorch (not part of Plumage, never committed) and
Python with torch, numpy, click. On CPU its custom ops fall back to their reference code.

- The TensorFlow fixture goes through the reference's own `legacy.load_network_pkl` (its TF
  conversion). The PyTorch fixtures carry a placeholder instead of the networks' source, so the
  reference rebuilds each network from the pickled `_init_kwargs` and copies every parameter and
  buffer by name (`misc.copy_params_and_buffers`, the reference's own upgrade path).
- For each (seed, psi) it writes what generate.py computes: `G(z, 0, psi, noise_mode='const')`
  with z = RandomState(seed).randn(1, z_dim), mapped to uint8 as generate.py maps it.
- `--genuine-out`: also pickles networks built by the reference's own classes, as its training
  loop writes a snapshot, to a path outside the repository (it holds NVIDIA's source: never commit
  it), so Plumage's reader can be tried on a file with the genuine structure.
"""
import argparse
import copy
import inspect
import json
import os
import pickle
import sys

import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument('--reference', required=True)
ap.add_argument('--fixtures', default='test/fixtures/pickles')
ap.add_argument('--genuine-out')
args = ap.parse_args()
sys.path.insert(0, args.reference)

import legacy  # noqa: E402  (the reference's)
from torch_utils import misc, persistence  # noqa: E402
from training import networks  # noqa: E402

# training/augment.py needs scipy; its pipe only matters here as a persistent module with a p buffer.
PIPE_SRC = '''import torch
from torch_utils import persistence
@persistence.persistent_class
class AugmentPipe(torch.nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.register_buffer('p', torch.ones([]))
'''

SEEDS = [0, 1, 2]
PSIS = [1.0, 0.7]


@persistence.import_hook
def _networks_source(meta):
    # Our fixtures carry a placeholder where NVIDIA's files carry networks.py: give the reference its own.
    if meta.module_src.startswith('# Plumage test fixture'):
        meta.module_src = PIPE_SRC if meta.class_name == 'AugmentPipe' else inspect.getsource(networks)
    return meta


def rebuilt(net):
    kwargs = copy.deepcopy(net.init_kwargs)
    cls = getattr(networks, type(net).__name__)
    new = cls(**kwargs).eval().requires_grad_(False)
    misc.copy_params_and_buffers(net, new, require_all=True)
    return new


def draw(G, out_name):
    out = dict(about=f'reference generate.py on {out_name}: G(z, c=0, psi, noise_mode=const), uint8 HWC RGB',
               z_dim=G.z_dim, resolution=G.img_resolution, images=[])
    blob = bytearray()
    for psi in PSIS:
        for seed in SEEDS:
            z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim))
            c = torch.zeros([1, G.c_dim])
            img = G(z, c, truncation_psi=psi, noise_mode='const')
            u8 = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()
            out['images'].append(dict(seed=seed, psi=psi, offset=len(blob), float_min=float(img.min()),
                                      float_max=float(img.max())))
            blob += u8.tobytes()
    return out, bytes(blob)


def main():
    dest = os.path.join(args.fixtures, 'reference')
    os.makedirs(dest, exist_ok=True)
    results = {}
    for name in ['network-snapshot-000120.pkl', 'stylegan2-tf.pkl']:
        with open(os.path.join(args.fixtures, name), 'rb') as f:
            data = legacy.load_network_pkl(f)
        G = data['G_ema'] if name.endswith('tf.pkl') else rebuilt(data['G_ema'])
        meta, blob = draw(G.float(), name)
        stem = name[:-4]
        with open(os.path.join(dest, f'{stem}.bin'), 'wb') as f:
            f.write(blob)
        results[stem] = meta
        print(name, 'drawn', len(meta['images']), 'images')
    with open(os.path.join(dest, 'images.json'), 'w') as f:
        json.dump(results, f, indent=1)
    a = open(os.path.join(dest, 'network-snapshot-000120.bin'), 'rb').read()
    b = open(os.path.join(dest, 'stylegan2-tf.bin'), 'rb').read()
    print('PyTorch and TF fixtures draw the same birds:', a == b,
          'max |diff|', int(np.abs(np.frombuffer(a, np.uint8).astype(int) - np.frombuffer(b, np.uint8)).max()))

    if args.genuine_out:
        a = dict(z_dim=32, w_dim=32, c_dim=0, img_resolution=32, img_channels=3)
        G = networks.Generator(**a, mapping_kwargs=dict(num_layers=2),
                               synthesis_kwargs=dict(channel_base=256, channel_max=16, num_fp16_res=4, conv_clamp=256))
        D = networks.Discriminator(c_dim=0, img_resolution=32, img_channels=3, channel_base=256, channel_max=16,
                                   num_fp16_res=4, conv_clamp=256, epilogue_kwargs=dict(mbstd_group_size=4))
        pipe = persistence._src_to_module(PIPE_SRC).AugmentPipe(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1)
        pipe.p.copy_(torch.as_tensor(0.25))
        snap = dict(training_set_kwargs=dict(resolution=32))
        for key, m in [('G', G), ('D', D), ('G_ema', copy.deepcopy(G)), ('augment_pipe', pipe)]:
            snap[key] = copy.deepcopy(m).eval().requires_grad_(False).cpu()
        with open(args.genuine_out, 'wb') as f:
            pickle.dump(snap, f)
        sd = {}
        for key in ('G', 'D', 'G_ema'):
            sd.update({f'{key}.{k}': v.float().numpy().tolist() for k, v in snap[key].state_dict().items()})
        with open(args.genuine_out + '.json', 'w') as f:
            json.dump(sd, f)
        print('genuine snapshot written to', args.genuine_out)


main()
