"""The frame-MLP VAE baseline of DecVAE (spec §7 VAE_1D_FC) on the DecVAE SimVowels data.

Same args as configs/decvae_simvowels.py ('smoke', 'demo', default = paper size) and the same data, decomposition
and evaluation blocks (so one prepared cache serves both and the analysis is the same); only the model and the
optimiser differ: an MLP VAE on the frame X alone (decompjax/families/decvae/fc_vae.py). beta 0 / 0.1 / 1 are
the AE / beta-VAE / VAE baselines: --config.model.beta=0.1.
"""
from __future__ import annotations

import ml_collections

from configs import common, decvae_simvowels


def get_config(arg=None):
  c = decvae_simvowels.get_config(arg)
  a = common.parse_arg(arg, smoke=False, demo=False)
  c.model = ml_collections.ConfigDict()
  c.model.family = "decvae_fc_vae"
  c.model.hidden = (512, 256) if not a.smoke else (32,)
  c.model.z_dim = 48 if not (a.smoke or a.demo) else (4 if a.smoke else 16)
  c.model.beta = 1.0                # 0 = AE, 0.1 = beta-VAE, 1 = VAE
  c.optim = common.base_config().optim
  c.optim.name = "adamw"
  c.optim.lr = 1e-3
  c.optim.weight_decay = 1e-4
  c.optim.grad_clip = 2.0
  c.eval.factors_s = ()             # no S branch
  return c
