"""Loads a file written by `plumage export-reference` into stylegan2-ada-pytorch's own networks.

    python plumage_to_pickle.py --reference /path/to/stylegan2-ada-pytorch \
        --in birds.safetensors --out network-snapshot-000000.pkl

The pickle it writes is what the reference's train.py writes (G, D, G_ema; no augment pipe), so
`generate.py --network` and `train.py --resume` take it. Needs only torch and numpy: safetensors
is a JSON header and raw little-endian data, read here in a few lines.
"""
import argparse
import copy
import json
import pickle
import struct
import sys

import numpy as np
import torch


def load_safetensors(path):
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop('__metadata__', {})
    tensors = {}
    for name, t in header.items():
        assert t['dtype'] == 'F32', f'{name}: {t["dtype"]}'
        a, b = t['data_offsets']
        tensors[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype='<f4').reshape(t['shape']).copy())
    return tensors, meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--reference', required=True, help='a checkout of NVlabs/stylegan2-ada-pytorch')
    ap.add_argument('--in', dest='src', required=True)
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    sys.path.insert(0, args.reference)
    from training import networks  # the reference's

    tensors, meta = load_safetensors(args.src)
    G_kwargs = json.loads(meta['reference.G_kwargs'])
    D_kwargs = json.loads(meta['reference.D_kwargs'])
    nets = {}
    for key, cls, kwargs in [('G', networks.Generator, G_kwargs), ('G_ema', networks.Generator, G_kwargs),
                             ('D', networks.Discriminator, D_kwargs)]:
        prefix = key + '.'
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if not sd:
            continue
        net = cls(**copy.deepcopy(kwargs)).eval().requires_grad_(False)
        net.load_state_dict(sd, strict=True)  # every name and shape must match
        nets[key] = net
    with open(args.out, 'wb') as f:
        pickle.dump(dict(training_set_kwargs=None, augment_pipe=None, **nets), f)
    print(f'wrote {args.out} ({", ".join(nets)})')


if __name__ == '__main__':
    main()
