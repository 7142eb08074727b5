"""Barlow-Twins VQ-VAE on one UCR dataset ([BT] BarlowTwinsVQVAE, its defects fixed).

  decompjax train --config=configs/barlow_vqvae_ucr.py --config.data.name=ECG200 --config.model.gamma=2 --workdir=runs/b
  arg 'smoke': tiny model, projector 32, 3 steps.  arg 'cpu': projector width 512 (the original uses 4096,
  which costs ~8x the step time of 512 on a CPU).
compat.frozen_projector=True reproduces the original, whose projector was missing from the optimizer and
stayed at its random init (its BatchNorm statistics still updated).
"""
import ml_collections

from configs import vqvae_ucr
from configs.common import parse_arg


def get_config(arg=None):
  a = parse_arg(arg, smoke=False, cpu=False)
  c = vqvae_ucr.get_config("smoke" if a.smoke else None)
  c.model.family = "barlow_vqvae"
  c.model.gamma = 1.0                 # weight of the (scaled) Barlow Twins loss
  c.model.bt_lambda = 0.005           # off-diagonal weight; the loss is divided by projector_width
  c.model.projector_width = 512 if a.cpu else 4096
  # A 4096-wide projector is big matmuls, which run faster on one multi-threaded CPU device.
  c.mesh.cpu_devices = 0 if a.cpu else 1
  # The two views' augmentations (decompjax/families/vqvae/augment.py).
  c.augment = ml_collections.ConfigDict()
  # experiment.py's all_augs; applied in the fixed order AmpR, flip, slope, STFT, jitter, slice.
  c.augment.names = "AmpR,STFT,jitter,slope,flip"
  c.augment.amp_rate = 0.1
  c.augment.flip_p = 0.5
  c.augment.slope_rate = 0.01
  c.augment.phase_max_change = 0.7853981633974483  # pi/4
  c.augment.jitter_std = 0.1
  c.augment.slice_rate = 0.2
  c.augment.slice_p = 0.3
  c.compat.frozen_projector = False
  if a.smoke:
    c.model.projector_width = 32
  return c
