"""beta-VAE on SynTone (the original trainer.py's model 1: beta=4, Adam 1e-3, batch 64, 8 latents).

  decompjax train --config=configs/syntone_beta_vae.py --workdir=runs/bvae --config.model.beta=0.125
  --config=configs/syntone_beta_vae.py:demo   reduced grid for CPU (the benchmark's demo preset)
  --config=configs/syntone_beta_vae.py:showcase  what `make demo` trains: the demo grid, band-limited 440-2000 Hz
  --config=configs/syntone_beta_vae.py:smoke  tiny, for tests
"""
from configs.syntone_common import syntone_config


def get_config(arg=None):
  c, _ = syntone_config(arg)
  c.model.family = "beta_vae"
  # beta is per sample here. The original's BetaVAELoss(4) summed the reconstruction over the batch of 64 but
  # averaged the KL, i.e. beta_per_sample = 4/64; with Adam (invariant to a constant loss scale) 0.0625 per
  # sample trains exactly like the original. Per-sample beta=4 on this sparse, [0, 1]-scaled input collapses
  # the posterior. Literal original expression: --config.model.reduction=syntone --config.model.beta=4.
  c.model.beta = 4.0 / 64
  c.model.reduction = "per_sample"   # 'syntone' = original's batch-summed reconstruction
  return c
