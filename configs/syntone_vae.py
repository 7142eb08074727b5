"""Plain VAE on SynTone (the original trainer.py's model 0: BetaVAELoss(beta=1), i.e. 1/64 per sample)."""
from configs import syntone_beta_vae


def get_config(arg=None):
  c = syntone_beta_vae.get_config(arg)
  c.model.beta = 1.0 / 64  # per-sample equivalent of the original's batch-summed recon + batch-mean KL
  return c
