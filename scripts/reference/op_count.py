#!/usr/bin/env python3
"""Counts the operators the reference dispatches for one training step's phases and for one bird.

The numbers beside `npm run bench -- train` / `generate`'s kernel counts (issue 21): how many
kernels a step costs is what a dispatch-bound backend pays for (wasm per call, WebGPU per pass).
Run with a checkout of the reference (NVlabs/stylegan2-ada-pytorch, not part of this repository)
and PyTorch on the CPU (its custom ops then fall back to their reference implementations, which is
also what the 11.1 s/kimg of the side-by-side measurement ran):

    python3 scripts/reference/op_count.py --ref /tmp/ref > op-count.json

The step is the one scripts/reference/step_fixture.py computes (the tiny preset, batch 8, noise
'const', no augmentation, its weights drawn at random: counts do not depend on values). PyTorch's
profiler records every aten operator, nested ones inside composite ones (aten::conv2d calls
aten::convolution calls aten::mkldnn_convolution). A *leaf* is an operator that calls no other: the
one that does the work, as a tfjs kernel does. Leaves are split into compute and view/metadata
(reshape, view, as_strided, empty, t, expand, …: no arithmetic, often no memory traffic), because
tfjs counts a Reshape as a kernel too. `python_ops` counts the reference's own Python-level calls
of torch functions it makes per phase (the top-level operators), as a reader of its code sees them.
"""
import argparse
import collections
import json
import sys

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
    ap.add_argument('--bird-resolution', type=int, default=256)
    args = ap.parse_args()
    sys.path.insert(0, args.ref)
    sys.path.insert(0, __file__.rsplit('/', 1)[0])
    import torch
    from torch.profiler import ProfilerActivity, profile
    from training import loss as ref_loss
    from training import networks
    from step_fixture import CONFIG as c

    torch.set_num_threads(1)
    torch.manual_seed(0)
    res, n = c['resolution'], c['batch']
    G = networks.Generator(
        z_dim=c['z_dim'], c_dim=0, w_dim=c['w_dim'], img_resolution=res, img_channels=c['img_channels'],
        mapping_kwargs={'num_layers': c['mapping_layers']},
        synthesis_kwargs={'channel_base': c['channel_base'], 'channel_max': c['channel_max'],
                          'num_fp16_res': 0, 'conv_clamp': None},
    ).train().requires_grad_(False)
    D = networks.Discriminator(
        c_dim=0, img_resolution=res, img_channels=c['img_channels'], channel_base=c['channel_base'],
        channel_max=c['channel_max'], num_fp16_res=0, conv_clamp=None,
        epilogue_kwargs={'mbstd_group_size': c['mbstd_group_size']},
    ).train().requires_grad_(False)

    class ConstNoise(torch.nn.Module):
        def __init__(self, synthesis):
            super().__init__()
            self.synthesis = synthesis

        def forward(self, ws):
            return self.synthesis(ws, noise_mode='const')

    loss = ref_loss.StyleGAN2Loss(
        device=torch.device('cpu'), G_mapping=G.mapping, G_synthesis=ConstNoise(G.synthesis), D=D, augment_pipe=None,
        style_mixing_prob=c['style_mixing_prob'], r1_gamma=c['r1_gamma'], pl_batch_shrink=c['pl_batch_shrink'],
        pl_decay=c['pl_decay'], pl_weight=c['pl_weight'])
    intervals = {'Gmain': 1, 'Greg': c['pl_interval'], 'Dmain': 1, 'Dreg': c['r1_interval']}
    opts = {id(m): torch.optim.Adam(m.parameters(), lr=0.002, betas=(0, 0.99), eps=1e-8) for m in (G, D)}
    z = torch.randn([n, c['z_dim']])
    reals = torch.rand([n, c['img_channels'], res, res]) * 2 - 1
    no_c = torch.zeros([n, 0])

    def phase_step(phase):
        module = G if phase[0] == 'G' else D
        module.requires_grad_(True)
        for p in module.parameters():
            p.grad = None
        loss.accumulate_gradients(phase=phase, real_img=reals, real_c=no_c, gen_z=z, gen_c=no_c, sync=True,
                                  gain=intervals[phase])
        module.requires_grad_(False)
        opts[id(module)].step()

    out = {'about': __doc__.strip().split('\n')[0], 'torch': torch.__version__, 'config': c, 'phases': {}}
    for phase in intervals:
        phase_step(phase)  # warm: lazy initialisation out of the count
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            phase_step(phase)
        out['phases'][phase] = tally(prof)
    per_step = {key: sum(out['phases'][p][key] / intervals[p] for p in intervals)
                for key in ('aten_ops', 'leaf_ops', 'compute_leaf_ops', 'top_level_ops')}
    out['average_step'] = {k: round(v, 1) for k, v in per_step.items()}

    # One bird at --bird-resolution with the reference's full-size defaults (channel_base 32768, max 512).
    r = args.bird_resolution
    big = networks.Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=r, img_channels=3,
                             synthesis_kwargs={'num_fp16_res': 0, 'conv_clamp': None}).eval()
    with torch.no_grad():
        big(torch.randn([1, 512]), None, noise_mode='const')
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            big(torch.randn([1, 512]), None, noise_mode='const')
    out['bird'] = {'resolution': r, **tally(prof)}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
