"""ConVAE-BSS (two-branch conv VAE, voice vs music) on generated voice + music mixtures (docs/convae_bss.md).

  decompjax data prepare --config=configs/convae_bss_synmix.py
  decompjax train --config=configs/convae_bss_synmix.py --workdir=runs/bss
Args (after ':', comma-separated): 'smoke' (tiny: tests), 'demo' (minutes on 2 CPU cores),
'objective=supervised|mixture_consistent|mixit|compat' (default mixture_consistent), 'compat' (the report's
averaged-dB mixture reconstruction: no skip, keep the best by val/loss; documented as unable to separate).
"""
from __future__ import annotations

import ml_collections

from configs import common


def get_config(arg=None):
  a = common.parse_arg(arg, smoke=False, demo=False, compat=False, objective="mixture_consistent")
  c = common.base_config()
  c.model.family = "convae_bss"
  c.model.objective = "compat" if a.compat else a.objective
  c.model.pit = False               # supervised / mixture_consistent: permutation-invariant targets
  c.model.recon = "l1"              # 'l1' | 'l2' on normalised linear magnitudes
  c.model.channels = (16, 32)       # encoder widths (each block halves F and T); decoders mirror them
  c.model.latent_channels = 8       # channels of each branch's spatial latent map
  c.model.skip = True               # decoders' last convs also see the input log-magnitude (not in the report)
  c.model.mask_power = 1.0          # p of the soft masks |S_k|^p / sum_j |S_j|^p
  c.model.beta = 1e-3               # KL weight (KL per spectrogram bin)
  c.model.consistency_weight = 0.1  # mixture_consistent: raw branches sum to |X| (the only term without stems)

  c.audio = ml_collections.ConfigDict(dict(sample_rate=16000, n_fft=512, hop=128, window="hann"))

  c.data.name = "synmix"            # 'synmix' | 'musdb18' | 'mir1k' | 'dsd100' | 'ccmixter'
  c.data.dir = ""                   # a corpus folder (not synmix)
  c.data.cache_dir = ""             # where generated data lives; '' -> decompjax.data.paths.default_data_dir()
  c.data.seconds = 2.0              # crop length (training examples)
  c.data.shuffle_buffer = 1000
  c.data.synmix = ml_collections.ConfigDict(dict(
      num_train=800, num_validation=64, num_test=50, snr_db_low=-5.0, snr_db_high=5.0, seed=0,
      min_seconds=2.0, max_seconds=4.0))

  c.optim.lr = 1e-3
  c.train.batch_size = 16
  c.train.steps = 3000
  c.train.log_every = 50
  c.train.ckpt_every = 500
  c.train.eval_every = 250
  c.train.eval_batches = 4
  c.train.keep_best_by = "val/si_sdr"   # the separated voice/music SI-SDR on the validation split
  c.train.keep_best_mode = "max"
  c.mesh.cpu_devices = 0                # auto: 2 devices per core on a CPU host

  # BSS evaluation of the test tracks (decompjax/families/convae_bss/evaluate.py).
  c.eval.num_tracks = 50            # test tracks evaluated
  c.eval.num_wavs = 3               # tracks whose separated WAVs are written
  c.eval.filter_length = 512        # BSS Eval distortion filter taps
  c.eval.irm_power = 2.0            # oracle IRM |S_k|^a / sum_j |S_j|^a (2 = museval's IRM2)
  c.eval.bss_window_seconds = 1.0   # BSS Eval v4-style windows, median over windows (0 = each track whole)
  c.eval.bss_hop_seconds = 1.0

  if c.model.objective in ("mixit", "compat"):
    c.train.keep_best_by = "val/loss"   # no stems in the objective: do not pick the checkpoint with them
    c.train.keep_best_mode = "min"
  if a.compat:
    c.model.skip = False              # the report's decoders see only their latent
  if a.demo:  # 1 s crops and half the widths: a few minutes on 2 CPU cores
    c.model.channels = (8, 16)
    c.model.latent_channels = 4
    c.data.seconds = 1.0
    c.data.synmix.num_train = 400
    c.data.synmix.num_validation = 32
    c.data.synmix.num_test = 20
    c.train.batch_size = 8
    c.train.steps = 400
    c.train.eval_every = 100
    c.train.ckpt_every = 200
    c.train.log_every = 25
    c.eval.num_tracks = 20
  if a.smoke:
    c.model.channels = (4, 8)
    c.model.latent_channels = 2
    c.data.seconds = 0.5
    c.data.shuffle_buffer = 16
    c.data.synmix.update(dict(num_train=16, num_validation=8, num_test=2, min_seconds=0.5, max_seconds=0.5))
    c.train.batch_size = 8
    c.train.steps = 4
    c.train.log_every = 1
    c.train.ckpt_every = 2
    c.train.eval_every = 2
    c.train.eval_batches = 1
    c.train.progress = False
    c.eval.num_tracks = 2
    c.eval.num_wavs = 1
  return c
