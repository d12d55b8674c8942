#!/usr/bin/env python3
"""Counts the operators the reference dispatches for one training step's phases and for one bird.

The numbers beside `npm run bench -- train` / `generate`'s kernel counts (issue 21): how many
kernels a step costs is what a dispatch-bound backend pays for (wasm per call, WebGPU per pass).
Run with a checkout of the reference (NVlabs/stylegan2-ada-pytorch, not part of this repository)
and PyTorch on the CPU (its custom ops then fall back to their reference implementations, which is
also what the 11.1 s/kimg of the side-by-side measurement ran):

    /usr/bin/python3 scripts/reference/op_count.py --ref /tmp/ref > op-count.json

The networks are built by ref_nets.py, as step_fixture.py and step_time.py build them. The step is the one
scripts/reference/step_fixture.py computes (the tiny preset, batch 8, noise
'const', no augmentation, its weights drawn at random: counts do not depend on values). PyTorch's
profiler records every aten operator, nested ones inside composite ones (aten::conv2d calls
aten::convolution calls aten::mkldnn_convolution). A *leaf* is an operator that calls no other: the
one that does the work, as a tfjs kernel does. Leaves are split into compute and view/metadata
(reshape, view, as_strided, empty, t, expand, …: no arithmetic, often no memory traffic), because
tfjs counts a Reshape as a kernel too. `python_ops` counts the reference's own Python-level calls
of torch functions it makes per phase (the top-level operators), as a reader of its code sees them.
The bird is one drawing (psi 0.7, noise 'const') of Plumage's 256² preset's architecture (`--bird`
takes another, as JSON).
"""
import argparse
import collections
import json
import sys

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from ref_nets import (BIRD_256, CONFIG, INTERVALS, bird_generator, import_reference, lazy_adam,  # noqa: E402
                      make_loss, phase_runner, tiny_networks)

VIEWS = {
    'aten::view', 'aten::_unsafe_view', 'aten::reshape', 'aten::as_strided', 'aten::empty', 'aten::empty_like',
    'aten::empty_strided', 'aten::t', 'aten::transpose', 'aten::expand', 'aten::permute', 'aten::unsqueeze',
    'aten::squeeze', 'aten::select', 'aten::slice', 'aten::detach', 'aten::alias', 'aten::resize_', 'aten::unbind',
    'aten::split', 'aten::narrow', 'aten::lift_fresh', 'aten::numpy_T', 'aten::expand_as', 'aten::contiguous',
    'aten::flatten', 'aten::chunk', 'aten::view_as', 'aten::result_type', 'aten::is_nonzero', 'aten::item',
    'aten::_local_scalar_dense', 'aten::set_', 'aten::_reshape_alias', 'aten::unflatten', 'aten::movedim',
    'aten::swapaxes', 'aten::broadcast_tensors', 'aten::to', 'aten::_to_copy', 'aten::size', 'aten::stride',
    'aten::resolve_conj', 'aten::resolve_neg', 'aten::as_strided_', 'aten::unfold',
}


def tally(prof):
    events = [e for e in prof.events() if e.name.startswith('aten::')]
    leaves = [e for e in events if not any(c.name.startswith('aten::') for c in e.cpu_children)]
    compute = [e for e in leaves if e.name not in VIEWS]
    top = [e for e in events if e.cpu_parent is None or not e.cpu_parent.name.startswith('aten::')]
    by_name = collections.Counter(e.name for e in compute)
    return {
        'aten_ops': len(events),
        'leaf_ops': len(leaves),
        'compute_leaf_ops': len(compute),
        'view_leaf_ops': len(leaves) - len(compute),
        'top_level_ops': len(top),
        'top_compute_leaves': by_name.most_common(12),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ref', required=True, help='path of a stylegan2-ada-pytorch checkout')
    ap.add_argument('--bird', default=json.dumps(BIRD_256),
                    help="the bird's architecture as JSON (referenceArgs' keys); Plumage's 256² preset by default")
    args = ap.parse_args()
    networks, ref_loss = import_reference(args.ref)
    import torch
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(1)
    torch.manual_seed(0)
    c = CONFIG
    res, n = c['resolution'], c['batch']
    G, D = tiny_networks(networks)
    loss = make_loss(ref_loss, G, D)
    z = torch.randn([n, c['z_dim']])
    reals = torch.rand([n, c['img_channels'], res, res]) * 2 - 1
    phase_step = phase_runner(G, D, loss, z, reals, optimisers=lazy_adam(G, D))

    out = {'about': __doc__.strip().split('\n')[0], 'torch': torch.__version__, 'config': c, 'phases': {}}
    for phase in INTERVALS:
        phase_step(phase)  # warm: lazy initialisation out of the count
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            phase_step(phase)
        out['phases'][phase] = tally(prof)
    per_step = {key: sum(out['phases'][p][key] / INTERVALS[p] for p in INTERVALS)
                for key in ('aten_ops', 'leaf_ops', 'compute_leaf_ops', 'top_level_ops')}
    out['average_step'] = {k: round(v, 1) for k, v in per_step.items()}

    # One bird of the architecture --bird, as the gallery draws it (psi 0.7, noise 'const').
    arch = json.loads(args.bird)
    big = bird_generator(networks, arch)
    with torch.no_grad():
        big(torch.randn([1, arch['z_dim']]), None, truncation_psi=0.7, noise_mode='const')
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            big(torch.randn([1, arch['z_dim']]), None, truncation_psi=0.7, noise_mode='const')
    out['bird'] = {'architecture': arch, **tally(prof)}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
