"""FactorVAE on SynTone (the original trainer.py's model 3: FactorKLoss(gamma=6), discriminator Adam 5e-5 with
betas (0.5, 0.9); VAE Adam 1e-3; 8 latents).

The original trains FactorVAE for 2x the epochs at 2x the batch (100 epochs at 128 vs 50 at 64): each step
splits the batch into a VAE half and a discriminator half, so that is the *same number of optimizer steps* as
the other models with twice the clips per step. Here: train.batch_size doubled, train.steps unchanged.

Weights are per sample. The original summed the reconstruction over the half batch of 64 and averaged KL and TC,
so its per-sample weights are KL 1/64 and gamma 6/64 (Adam is invariant to the constant loss scale; see
configs/syntone_beta_vae.py). Literal original expression: --config.model.reduction=syntone
--config.model.kl_weight=1 --config.model.gamma=6.

  decompjax train --config=configs/syntone_factor_vae.py --workdir=runs/fvae
  --config.compat.leak_disc_grad=true   the original's discriminator-gradient leak into the encoder
  --config.optim.disc.lr=1e-4           the discriminator's optimiser (every config.optim field, its own values)
"""
import ml_collections

from configs.syntone_common import syntone_config

ORIGINAL_HALF_BATCH = 64


def get_config(arg=None):
  c, a = syntone_config(arg)
  c.model.family = "factor_vae"
  c.train.batch_size *= 2
  c.model.kl_weight = 1.0 / ORIGINAL_HALF_BATCH
  c.model.gamma = 6.0 / ORIGINAL_HALF_BATCH      # total correlation (density-ratio estimate)
  c.model.reduction = "per_sample"   # 'syntone' = original's batch-summed reconstruction
  c.model.disc_hidden = 1000
  c.model.disc_layers = 6
  # The discriminator's Adam, every field explicit so that nothing is inherited from the VAE's config.optim.
  c.optim.disc = ml_collections.ConfigDict(dict(
      name="adam", lr=5e-5, b1=0.5, b2=0.9, eps=1e-8, weight_decay=0.0, momentum=0.0, grad_clip=0.0,
      warmup_steps=0, decay_steps=0))
  c.compat = ml_collections.ConfigDict()
  c.compat.leak_disc_grad = False   # True = original: discriminator loss also trains the encoder
  if a.smoke:
    c.model.disc_hidden = 32       # keeps test checkpoints small; the architecture is otherwise the same
  return c
