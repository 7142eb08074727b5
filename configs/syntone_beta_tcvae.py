"""beta-TCVAE on SynTone (the original trainer.py's model 2: BTCVAELoss(alpha=1, beta=4, gamma=1, n_data=len(train),
minibatch-stratified sampling); Adam 1e-3, batch 64, 8 latents).

Weights are per sample. The original summed the reconstruction over the batch of 64 and averaged MI, TC and
dimension-wise KL, so its per-sample weights are alpha, beta, gamma = 1/64, 4/64, 1/64; Adam is invariant to the
constant loss scale, so these train like the original (as configs/syntone_beta_vae.py does for beta).
Literal original expression: --config.model.reduction=syntone --config.model.alpha=1 --config.model.beta=4
--config.model.gamma=1.

  decompjax train --config=configs/syntone_beta_tcvae.py --workdir=runs/btcvae --config.model.tc_estimator=mws
  --config=configs/syntone_beta_tcvae.py:demo   reduced grid for a CPU demo
  --config=configs/syntone_beta_tcvae.py:smoke  tiny, for tests
"""
from configs.syntone_common import syntone_config

ORIGINAL_BATCH = 64


def get_config(arg=None):
  c, _ = syntone_config(arg)
  c.model.family = "beta_tcvae"
  c.model.alpha = 1.0 / ORIGINAL_BATCH   # index-code mutual information
  c.model.beta = 4.0 / ORIGINAL_BATCH    # total correlation
  c.model.gamma = 1.0 / ORIGINAL_BATCH   # dimension-wise KL
  # 'mss' (minibatch-stratified, computed exactly as the original), 'mss_paper' (the paper's weights),
  # 'mws' (minibatch-weighted); see decompjax/losses/tc.py.
  c.model.tc_estimator = "mss"
  c.model.tc_dataset_size = 0         # N of the estimators; 0 = size of the grid's train split
  c.model.reduction = "per_sample"    # 'syntone' = original's batch-summed reconstruction
  return c
