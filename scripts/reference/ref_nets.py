"""The reference's networks and loss as the scripts beside this file build them (one place, so they agree).

step_fixture.py (the numbers the parity tests check), op_count.py (the operators a step dispatches) and
step_time.py (the milliseconds a step takes) all run NVlabs/stylegan2-ada-pytorch's own `Generator`,
`Discriminator` and `StyleGAN2Loss` at the tiny preset: float32 everywhere (`num_fp16_res=0`, no clamp),
noise 'const', no augmentation. `bird_generator` builds the generator of one of Plumage's presets for
drawing (its architecture as `referenceArgs` in main/core/gan/config.ts gives it).
"""
import sys

CONFIG = {
    'preset': 'tiny',
    'resolution': 32,
    'img_channels': 3,
    'z_dim': 64,
    'w_dim': 64,
    'mapping_layers': 2,
    'channel_base': 512,
    'channel_max': 64,
    'mbstd_group_size': 4,
    'batch': 8,
    'r1_gamma': 0.0002 * 32 * 32 / 8,  # the 'auto' heuristic for 32², batch 8
    'r1_interval': 16,
    'pl_weight': 2.0,
    'pl_interval': 4,
    'pl_decay': 0.01,
    'pl_batch_shrink': 2,
    'style_mixing_prob': 0.9,
    'pl_mean_before': 0.2,  # a mid-training value, so the lerp is exercised
}
# The benchmark networks test/bench/networks.ts names (`--network`), as changes to CONFIG.
NETWORKS = {'128ch': {'channel_base': 4096, 'channel_max': 128, 'z_dim': 512, 'w_dim': 512}}
PHASES = ['Gmain', 'Greg', 'Dmain', 'Dreg']
# How often the training loop runs each phase (its lazy regularisation): also the gain it passes.
INTERVALS = {'Gmain': 1, 'Greg': CONFIG['pl_interval'], 'Dmain': 1, 'Dreg': CONFIG['r1_interval']}
# Plumage's 256² preset (presetConfig('256')): the bird step_time.py and op_count.py draw by default.
BIRD_256 = {'z_dim': 512, 'w_dim': 512, 'img_resolution': 256, 'img_channels': 3, 'mapping_layers': 2,
            'channel_base': 16384, 'channel_max': 512}


def import_reference(ref):
    """The reference checkout's `networks` and `loss` modules (PyTorch imported on the way)."""
    sys.path.insert(0, ref)
    from training import loss
    from training import networks
    return networks, loss


def tiny_networks(networks, c=CONFIG):
    """G and D of the tiny preset in train mode, gradients off (each phase turns its module's on)."""
    res = c['resolution']
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
    return G, D


def make_loss(ref_loss, G, D, c=CONFIG):
    """The reference's StyleGAN2Loss on the CPU over G's synthesis with noise 'const', no augmentation."""
    import torch

    class ConstNoise(torch.nn.Module):
        """The reference's synthesis network with noise_mode='const' (ddp_sync wants a module)."""
        def __init__(self, synthesis):
            super().__init__()
            self.synthesis = synthesis

        def forward(self, ws):
            return self.synthesis(ws, noise_mode='const')

    return ref_loss.StyleGAN2Loss(
        device=torch.device('cpu'), G_mapping=G.mapping, G_synthesis=ConstNoise(G.synthesis), D=D, augment_pipe=None,
        style_mixing_prob=c['style_mixing_prob'], r1_gamma=c['r1_gamma'], pl_batch_shrink=c['pl_batch_shrink'],
        pl_decay=c['pl_decay'], pl_weight=c['pl_weight'])


def phase_runner(G, D, loss, z, reals, c=CONFIG, optimisers=None):
    """A function running one phase as the training loop does: its module's gradients on, zeroed, the reference's
    accumulate_gradients with the phase's gain, then (given `optimisers`, by id of module) the optimiser's step."""
    import torch
    no_c = torch.zeros([reals.shape[0], 0])

    def run(phase):
        module = G if phase[0] == 'G' else D
        module.requires_grad_(True)
        for p in module.parameters():
            p.grad = None
        loss.accumulate_gradients(phase=phase, real_img=reals, real_c=no_c, gen_z=z, gen_c=no_c, sync=True,
                                  gain=INTERVALS[phase])
        module.requires_grad_(False)
        if optimisers is not None:
            optimisers[id(module)].step()
    return run


def lazy_adam(G, D, c=CONFIG, lr=0.002, betas=(0.0, 0.99), eps=1e-8):
    """Adam per module with the training loop's lazy-regularisation correction of lr and betas."""
    import torch
    opts = {}
    for module, interval in ((G, c['pl_interval']), (D, c['r1_interval'])):
        ratio = interval / (interval + 1)
        opts[id(module)] = torch.optim.Adam(module.parameters(), lr=lr * ratio,
                                            betas=[b ** ratio for b in betas], eps=eps)
    return opts


def bird_generator(networks, arch=BIRD_256):
    """A generator for drawing (eval mode, float32) of the architecture `arch` (referenceArgs' keys)."""
    return networks.Generator(
        z_dim=arch['z_dim'], c_dim=0, w_dim=arch['w_dim'], img_resolution=arch['img_resolution'],
        img_channels=arch['img_channels'], mapping_kwargs={'num_layers': arch['mapping_layers']},
        synthesis_kwargs={'channel_base': arch['channel_base'], 'channel_max': arch['channel_max'],
                          'num_fp16_res': 0, 'conv_clamp': None},
    ).eval().requires_grad_(False)
