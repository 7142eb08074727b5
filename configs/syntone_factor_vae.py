"""FactorVAE on SynTone (the original trainer.py's model 3: FactorKLoss(gamma=6), discriminator Adam 5e-5 with
betas (0.5, 0.9); VAE Adam 1e-3; 8 latents).

The original trains FactorVAE for 2x the epochs at 2x the batch (100 epochs at 128 vs 50 at 64): each step
splits the batch into a VAE half and a discriminator half, so that is the *same number of optimizer steps* as
the other models with twice the clips per step. Here: train.batch_size doubled, train.steps unchanged.

Weights are per sample. The original summed the reconstruction over the half batch of 64 and averaged KL and TC,
so its per-sample weights are KL 1/64 and gamma 6/64 (Adam is invariant to the constant loss scale; see
configs/syntone_beta_vae.py). Literal original expression: --config.loss.reduction=syntone
--config.loss.kl_weight=1 --config.loss.gamma=6.

  decompjax train --config=configs/syntone_factor_vae.py --workdir=runs/fvae
  --config.loss.leak_disc_grad=true   the original's discriminator-gradient leak into the encoder
"""
from configs.syntone_common import syntone_config

ORIGINAL_HALF_BATCH = 64


def get_config(arg=None):
  c, a = syntone_config(arg)
  c.model.family = "factor_vae"
  c.train.batch_size *= 2
  c.loss.kl_weight = 1.0 / ORIGINAL_HALF_BATCH
  c.loss.gamma = 6.0 / ORIGINAL_HALF_BATCH
  c.loss.disc_lr = 5e-5
  c.loss.disc_b1 = 0.5
  c.loss.disc_b2 = 0.9
  c.loss.disc_hidden = 1000
  c.loss.disc_layers = 6
  c.loss.leak_disc_grad = False   # True = original: discriminator loss also trains the encoder
  c.loss.reduction = "per_sample"   # 'syntone' = original's batch-summed reconstruction
  if a.smoke:
    c.loss.disc_hidden = 32       # keeps test checkpoints small; the architecture is otherwise the same
  return c
