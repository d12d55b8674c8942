#!/usr/bin/env python3
"""Computes one training step's losses and gradients with the reference networks, as numbers.

Run with a checkout of the reference (NVlabs/stylegan2-ada-pytorch, not part of this repository;
PyTorch on the CPU is enough: its custom ops fall back to their reference implementations):

    python3 scripts/reference/step_fixture.py --ref /tmp/ref --commit <its commit> \
        > test/fixtures/reference-step.json

Everything the step consumes is fixed and can be rebuilt in TypeScript without this script
(test/helpers/reference-step.ts does, for test/integration/gan-reference.test.ts): weights and
inputs come from numpy's legacy RandomState, seeded per tensor by the FNV-1a hash of its name
(see `draw`), noise is 'const', augmentation off, and the random draws inside the reference's
loss (the style-mixing partner latents and pl_noise, both `torch.randn_like`) are taken from
named RandomState streams. The style-mixing cutoff is the reference's own draw from a seeded
torch generator, written into the output so the other side can use it.

Two parts. Each phase (Gmain, Greg, Dmain, Dreg) runs the reference's own
`StyleGAN2Loss.accumulate_gradients` on the same weights, with the gain its training loop passes
(the phase's interval): the reported statistics and, per parameter, the gradient's L2 norm, sum
and a few entries. Then a fresh run of RUN['steps'] steps from the same weights, the phases in
the training loop's order with Adam, lazy regularisation, w_avg and G_ema: each step's statistics
and pl_mean, and a summary of what the run changed in every tensor.
"""
import argparse
import copy
import json
import math
import re
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from ref_nets import CONFIG, INTERVALS, PHASES, import_reference, lazy_adam, make_loss, tiny_networks  # noqa: E402

RUN = {  # a short fresh run: the phases in the training loop's order, Adam, w_avg, G_ema
    'steps': 8,  # Greg at steps 0 and 4, Dreg at step 0
    'lr': 0.002,
    'betas': [0.0, 0.99],
    'eps': 1e-8,
    # Not the tiny preset's 0.5 / 0.05, which make G_ema a copy of G for hundreds of steps: here the
    # half-life ramps up over steps 1-4 (8 × images seen) and is held at 300 images from step 5 on.
    'ema_kimg': 0.3,
    'ema_rampup': 8,
}
ENTRIES = 8  # gradient entries kept per tensor


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode('utf-8'):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def draw(name, shape):
    """The fixture's value of a named tensor: RandomState(fnv1a(name)) draws, as float32."""
    rs = np.random.RandomState(fnv1a(name))
    n = int(np.prod(shape)) if len(shape) else 1
    leaf = name.split('.')[-1]
    if name.startswith('input.reals'):
        v = 2 * rs.random_sample(n) - 1  # uniform in [-1, 1)
    elif '.mapping.' in name and leaf == 'weight':
        v = rs.randn(n) / 0.01  # drawn as the reference draws lr-multiplied weights
    elif name.endswith('affine.bias'):
        v = 1 + 0.1 * rs.randn(n)
    elif leaf in ('bias', 'noise_strength', 'w_avg'):
        v = 0.1 * rs.randn(n)
    else:
        v = rs.randn(n)
    return v.astype(np.float32).reshape(shape)


def picks(size):
    k = min(ENTRIES, size)
    return sorted({(i * (size - 1)) // max(k - 1, 1) for i in range(k)})


def summary(t):
    a = t.detach().double().flatten()
    idx = picks(a.numel())
    return {
        'norm': math.sqrt(float((a * a).sum())),
        'sum': float(a.sum()),
        'entries': [[i, float(a[i])] for i in idx],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ref', required=True, help='path of a stylegan2-ada-pytorch checkout')
    ap.add_argument('--commit', default='unknown', help="the checkout's commit, recorded in the output")
    ap.add_argument('--perturb', type=float, default=0,
                    help='scale every weight by 1 + this·N(0,1) (not for the fixture: it measures how far rounding '
                         'errors of this size move the short run, which sets the run test\'s tolerances)')
    args = ap.parse_args()
    networks, ref_loss = import_reference(args.ref)
    import torch
    from torch_utils import training_stats

    torch.set_num_threads(1)
    c = CONFIG
    res, n = c['resolution'], c['batch']
    G, D = tiny_networks(networks)
    for prefix, net in (('G', G), ('D', D)):
        with torch.no_grad():
            for name, t in net.state_dict().items():
                if name.endswith('resample_filter'):
                    continue  # the fixed [1,3,3,1] filter on both sides
                t.copy_(torch.from_numpy(draw(f'{prefix}.{name}', list(t.shape))))
                if args.perturb:  # how far rounding alone moves the run: see --perturb
                    t.mul_(1 + args.perturb * torch.from_numpy(draw(f'perturb.{prefix}.{name}', list(t.shape))))

    no_c = torch.zeros([n, 0])

    # Random draws inside the loss, replaced by named streams (noise 'const', no augmentation).
    stream = {'rs': None}
    torch.randn_like = lambda t: torch.from_numpy(
        stream['rs'].randn(*t.shape).astype(np.float32)).to(t.dtype)
    recorded = {}
    report = training_stats.report
    training_stats.report = lambda name, value: (recorded.setdefault(name, []).append(
        torch.as_tensor(value).detach().double().flatten().clone()), report(name, value))[1]
    grads_of = []
    autograd_grad = torch.autograd.grad

    def grad_recorder(*a, **k):
        out = autograd_grad(*a, **k)
        grads_of.append(out[0].detach().clone())
        return out
    torch.autograd.grad = grad_recorder

    loss = make_loss(ref_loss, G, D)
    num_ws = G.num_ws
    intervals = INTERVALS

    def run_phase(phase, names, z, reals):
        """The reference's accumulate_gradients for one phase, with `names`' draws; the phase's module keeps its grads."""
        module = G if phase[0] == 'G' else D
        seed = fnv1a(f'cutoff.{names}')
        # The reference's own mixing draw (run_G): replay it to know the cutoff, then run with the same seed.
        torch.manual_seed(seed)
        cutoff = int(torch.empty([], dtype=torch.int64).random_(1, num_ws))
        mix = bool(torch.rand([]) < c['style_mixing_prob'])
        torch.manual_seed(seed)
        stream['rs'] = np.random.RandomState(fnv1a(f'input.{names}'))
        recorded.clear()
        grads_of.clear()
        module.requires_grad_(True)
        for p in module.parameters():
            p.grad = None
        loss.accumulate_gradients(phase=phase, real_img=reals, real_c=no_c, gen_z=z, gen_c=no_c, sync=True,
                                  gain=intervals[phase])
        module.requires_grad_(False)
        entry = {
            'cutoff': cutoff if mix else num_ws,
            'stats': {name: [float(x) for x in torch.cat(v)] for name, v in recorded.items()},
        }
        if phase == 'Greg':
            entry['pl_lengths'] = [float(x) for x in grads_of[0].double().square().sum(2).mean(1).sqrt()]
            entry['pl_mean_after'] = float(loss.pl_mean)
        return entry

    out = {'about': __doc__.strip().split('\n')[0], 'reference_commit': args.commit, 'torch': torch.__version__,
           'config': c, 'num_ws': num_ws, 'phases': {}, 'run': {'steps': []}}

    # One step's phases, each on the same weights: its gradients.
    z = torch.from_numpy(draw('input.z', [n, c['z_dim']]))
    reals = torch.from_numpy(draw('input.reals', [n, c['img_channels'], res, res]))
    initial = {id(net): copy.deepcopy(net.state_dict()) for net in (G, D)}
    loss.pl_mean = torch.tensor(c['pl_mean_before'], dtype=torch.float32)
    for phase in PHASES:
        entry = run_phase(phase, phase, z, reals)
        prefix, module = ('G', G) if phase[0] == 'G' else ('D', D)
        entry['grads'] = {f'{prefix}.{name}': summary(p.grad) for name, p in module.named_parameters()
                          if p.grad is not None}
        out['phases'][phase] = entry

    # A fresh run of RUN['steps'] steps from the same weights: the training loop's phases in order, Adam with
    # lazy regularisation, pl_mean carried over, w_avg and G_ema, as the reference's training_loop.py does them.
    r = RUN
    for net in (G, D):
        net.load_state_dict(initial[id(net)])
    G_ema = copy.deepcopy(G).eval()
    loss.pl_mean = torch.zeros([])
    opts = lazy_adam(G, D, lr=r['lr'], betas=r['betas'], eps=r['eps'])
    nimg = 0
    for step in range(r['steps']):
        reals = torch.from_numpy(draw(f'input.step{step}.reals', [n, c['img_channels'], res, res]))
        record = {'phases': {}}
        for phase in PHASES:
            if step % intervals[phase] != 0:
                continue
            module = G if phase[0] == 'G' else D
            z = torch.from_numpy(draw(f'input.step{step}.z.{phase}', [n, c['z_dim']]))
            entry = run_phase(phase, f'step{step}.{phase}', z, reals)
            opts[id(module)].step()
            record['phases'][phase] = entry
        beta = 0.5 ** (n / max(min(r['ema_kimg'] * 1000, nimg * r['ema_rampup']), 1e-8))
        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.copy_(p.lerp(p_ema, beta))
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)
        nimg += n
        record['pl_mean'] = float(loss.pl_mean)
        out['run']['steps'].append(record)
    out['run']['config'] = r
    # What the run changed (the weights themselves would hide it: they move by about lr per step).
    start = {'G': initial[id(G)], 'D': initial[id(D)], 'G_ema': initial[id(G)]}
    out['run']['changes'] = {f'{prefix}.{name}': summary(t - start[prefix][name])
                             for prefix, net in (('G', G), ('D', D), ('G_ema', G_ema))
                             for name, t in net.state_dict().items() if not name.endswith('resample_filter')}
    text = json.dumps(out, indent=1)
    # One line per list of numbers, and per gradient's list of [index, value] entries.
    text = re.sub(r'\[\s+([^\[\]{}]*?)\s+\]', lambda m: '[' + ' '.join(m.group(1).split()) + ']', text)
    text = re.sub(r'\[\s+((?:\[[^\[\]]*\],?\s*)+)\]', lambda m: '[' + ' '.join(m.group(1).split()) + ']', text)
    sys.stdout.write(text + '\n')


if __name__ == '__main__':
    main()
