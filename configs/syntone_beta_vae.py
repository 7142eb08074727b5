"""beta-VAE on SynTone (the original trainer.py's model 1: beta=4, Adam 1e-3, batch 64, 8 latents).

  decompjax train --config=configs/syntone_beta_vae.py --workdir=runs/bvae --config.loss.beta=8
  --config=configs/syntone_beta_vae.py:demo   reduced grid for a CPU demo
  --config=configs/syntone_beta_vae.py:smoke  tiny, for tests
"""
from configs.syntone_common import syntone_config


def get_config(arg=None):
  c, _ = syntone_config(arg)
  c.model.family = "beta_vae"
  c.loss.beta = 4.0
  c.loss.reduction = "per_sample"   # 'syntone' = original's summed recon + batch-mean KL (effective beta/B)
  return c
