#!/usr/bin/env python3
"""Times the reference's training phases and one bird on this CPU, as one JSON line.

The other side of `npm run bench -- train --reference CHECKOUT` and `generate --reference CHECKOUT`
(issue 21), which run this beside Plumage's own measurement and print both with their ratios. Alone:

    /usr/bin/python3 scripts/reference/step_time.py --ref /tmp/ref [--repeats 3] [--skip bird]

The networks are built by ref_nets.py as step_fixture.py and op_count.py build them: the tiny preset,
batch 8, float32, noise 'const', no augmentation, one thread (`torch.set_num_threads(1)`; `--threads`
changes it). Each phase (Gmain, Greg, Dmain, Dreg) is the reference's own `accumulate_gradients` and
its Adam step, timed as the Plumage bench times its phases: `--repeats` runs after one warm-up, the
median, by the wall clock and (`cpuMs…`) by the process's CPU time, which a machine busy with other
work inflates far less. The G, D, D+R1 and G+PL steps are the same sums of phases as Plumage's line gives. The bird is
one drawing (psi 0.7, noise 'const') of Plumage's 256² preset's architecture (`--bird` takes another
as JSON), in no_grad; its convolutions' GFLOP/s come from PyTorch's profiler (`with_flops`). Last, this
core's native rates per CPU second: a large one-thread 3×3 convolution through oneDNN (GFLOP/s) and a
large copy (GB/s), beside which the wasm roofline of `npm run bench -- kernels` reads.
"""
import argparse
import itertools
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from ref_nets import (BIRD_256, CONFIG, INTERVALS, NETWORKS, PHASES, bird_generator,  # noqa: E402
                      import_reference, lazy_adam, make_loss, phase_runner, tiny_networks)


def timed(f, repeats, cpu=False):
    """Milliseconds of f(): the median of `repeats` runs after one warm-up, by the wall clock, or with `cpu` by this
    process's CPU time (what a core did while it ran: a machine busy with other work slows it far less)."""
    clock = time.process_time if cpu else time.perf_counter
    f()
    out = []
    for _ in range(repeats):
        t0 = clock()
        f()
        out.append((clock() - t0) * 1000)
    return statistics.median(out)


def train_phases(torch, networks, ref_loss, repeats, c=CONFIG):
    res, n = c['resolution'], c['batch']
    torch.manual_seed(0)
    G, D = tiny_networks(networks, c)
    loss = make_loss(ref_loss, G, D, c)
    loss.pl_mean = torch.tensor(c['pl_mean_before'], dtype=torch.float32)
    z = torch.randn([n, c['z_dim']])
    reals = torch.rand([n, c['img_channels'], res, res]) * 2 - 1
    run = phase_runner(G, D, loss, z, reals, c, optimisers=lazy_adam(G, D, c))
    ms = {phase: timed(lambda: run(phase), repeats) for phase in PHASES}
    cpu_ms = {phase: timed(lambda: run(phase), repeats, cpu=True) for phase in PHASES}
    step = sum(ms[p] / INTERVALS[p] for p in PHASES)  # an average step, as the Plumage line's
    r = lambda x: round(x, 1)  # noqa: E731
    return {
        'batch': n,
        'msPerPhase': {p: r(ms[p]) for p in PHASES},
        'cpuMsPerPhase': {p: r(cpu_ms[p]) for p in PHASES},
        'msGStep': r(ms['Gmain']),
        'msDStep': r(ms['Dmain']),
        'msDR1Step': r(ms['Dmain'] + ms['Dreg']),
        'msGPLStep': r(ms['Gmain'] + ms['Greg']),
        'imagesPerSec': round(n / step * 1000, 2),
        'secondsPerKimg': r(step / n),  # (ms per step / 1000) × (1000 images / n images per step)
    }


def transposed_flops(shapes):
    """A conv_transpose2d's FLOPs from its input [N,in,H,W] and weight [in,out/groups,kh,kw] shapes (the profiler
    counts conv2d's only): each input value meets out/groups·kh·kw weights, a multiply-add each."""
    (n, cin, h, w), (_, cout_g, kh, kw) = shapes[0], shapes[1]
    return 2 * n * cin * h * w * cout_g * kh * kw


def bird(torch, networks, arch, repeats):
    from torch.profiler import ProfilerActivity, profile
    torch.manual_seed(0)
    G = bird_generator(networks, arch)
    seeds = itertools.count(1)

    def draw():
        z = torch.from_numpy(np.random.RandomState(next(seeds)).randn(1, arch['z_dim'])).float()
        G(z, None, truncation_psi=0.7, noise_mode='const')

    with torch.no_grad():
        ms = timed(draw, repeats)
        cpu_ms = timed(draw, repeats, cpu=True)
        with profile(activities=[ProfilerActivity.CPU], with_flops=True, record_shapes=True) as prof:
            G(torch.randn([1, arch['z_dim']]), None, truncation_psi=0.7, noise_mode='const')
    # Both kinds the reference's conv2d_resample calls (its up-sampling convolutions are transposed ones).
    convs = [e for e in prof.events() if e.name in ('aten::conv2d', 'aten::conv_transpose2d')]
    conv_ms = sum(e.cpu_time_total for e in convs) / 1000
    conv_flops = sum(e.flops if e.name == 'aten::conv2d' else transposed_flops(e.input_shapes) for e in convs)
    return {
        'architecture': arch,
        'msPerImage': round(ms, 1),
        'cpuMsPerImage': round(cpu_ms, 1),
        'convMs': round(conv_ms, 1),
        'convGflop': round(conv_flops / 1e9, 2),
        'convGflops': round(conv_flops / 1e6 / conv_ms, 1) if conv_ms > 0 else None,
        'repeats': repeats,
    }


def native_peaks(torch):
    """This core's float32 rates from PyTorch: a large 3×3 convolution through oneDNN (what the reference's
    convolutions run on; Debian's torch has the generic BLAS, so a matmul says less), and a copy far beyond cache."""
    x, w = torch.randn(1, 512, 32, 32), torch.randn(512, 512, 3, 3)
    conv = torch.nn.functional.conv2d
    with torch.no_grad():
        ms = min(timed(lambda: conv(x, w, padding=1), 3, cpu=True) for _ in range(2))
    src, dst = torch.randn(64 << 20), torch.empty(64 << 20)  # 256 MB each
    copy_ms = min(timed(lambda: dst.copy_(src), 3, cpu=True) for _ in range(2))
    return {
        'conv3x3Gflops': round(2 * 32 * 32 * 512 * 512 * 9 / 1e6 / ms, 1),
        'copyGBs': round(2 * src.numel() * 4 / 1e6 / copy_ms, 1),  # bytes read and written
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ref', required=True, help='path of a stylegan2-ada-pytorch checkout')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--bird', default=json.dumps(BIRD_256),
                    help="the bird's architecture as JSON (referenceArgs' keys); Plumage's 256² preset by default")
    ap.add_argument('--network', choices=sorted(NETWORKS), help='a benchmark network in place of the tiny preset\'s')
    ap.add_argument('--skip', default='', help='comma-separated parts to leave out: train, bird, peaks')
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(',')))
    if not os.path.isdir(os.path.join(args.ref, 'training')):
        sys.exit(f'{args.ref} is not a stylegan2-ada-pytorch checkout (it has no training/ folder)')
    networks, ref_loss = import_reference(args.ref)
    import torch
    torch.set_num_threads(args.threads)
    out = {'bench': 'reference', 'torch': torch.__version__, 'threads': args.threads, 'repeats': args.repeats}
    if 'train' not in skip:
        config = {**CONFIG, **NETWORKS[args.network]} if args.network else CONFIG
        out['train'] = train_phases(torch, networks, ref_loss, args.repeats, config)
        if args.network:
            out['train']['network'] = args.network
    if 'bird' not in skip:
        out['bird'] = bird(torch, networks, json.loads(args.bird), args.repeats)
    if 'peaks' not in skip:
        out['native'] = native_peaks(torch)
    out['loadAverage'] = round(os.getloadavg()[0], 1)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
