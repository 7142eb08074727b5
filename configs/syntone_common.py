"""Shared SynTone settings: the create.py grid, the original mel front end, VAEDeep, the original optimiser."""
from __future__ import annotations

import ml_collections

from configs import common


def syntone_config(arg: str | None) -> tuple[ml_collections.ConfigDict, ml_collections.ConfigDict]:
  """Returns (config, parsed arg). Args: 'smoke' (tiny grid, 3 steps), 'demo' (reduced grid for CPU; the
  benchmark's demo preset), 'showcase' (the demo grid made easy to see learning on; what `make demo` runs)."""
  a = common.parse_arg(arg, smoke=False, demo=False, showcase=False)
  c = common.base_config()
  c.data.name = "syntone"
  c.data.cache = True          # keep decoded waveforms in memory (the demo grid is ~100 MB)
  c.data.grid = ml_collections.ConfigDict(dict(
      sample_rate=16000, freq_start=440.0, freq_end=0.0,  # 0 -> Nyquist, as create.py's None
      num_freqs=400, amp_start=0.1, amp_end=1.0, num_amps=20, seed=0, band_limited=False, random_phase=False))

  c.audio = ml_collections.ConfigDict(dict(n_fft=2048, hop=512, n_mels=128, fmin=0.0, fmax=8000.0,
                                           # 'syntone': the original per-frame max normalisation (amplitude
                                           # invisible); 'log_mel': fixed-scale log mel, amplitude learnable.
                                           frontend="syntone"))

  c.model.latent_dim = 8
  c.optim.lr = 1e-3
  c.train.batch_size = 64
  c.mesh.cpu_devices = 0       # auto: on a CPU host, 2 devices per core (decompjax/cpu_devices.py)
  c.train.steps = 8000         # ~20 epochs of the 25.6k-clip train split
  c.train.ckpt_every = 1000
  c.train.log_every = 50

  c.eval.num_examples = 4096
  c.eval.batch_size = 256
  c.eval.traversal_range = 3.0
  c.eval.num_audio = 3
  c.eval.griffin_lim_iters = 32
  c.eval.metric_train_size = 2000   # sub-sample for the fitted estimators (probes, SAP, DCI, score samplers)
  # 'corrected' (mu codes, GT factors, full suite), 'syntone_compat' (the original's evaluator), or 'both'.
  c.eval.protocol = "both"

  if a.showcase:
    a.demo = True
  if a.demo:  # 4 waveforms x 50 freqs x 10 amps = 2,000 clips; a few minutes on 2 CPU cores
    # The amplitude-visible log mel: dense images an MSE decoder learns within a few hundred steps (on the
    # original's per-frame-normalised single-line images it still outputs the mean image after 400 steps).
    c.audio.frontend = "log_mel"
    c.data.grid.num_freqs = 50
    c.data.grid.num_amps = 10
    c.train.steps = 400
    c.train.ckpt_every = 200
    c.train.log_every = 25
    c.eval.num_examples = 2000
  if a.showcase:
    # A showcase, not the comparison protocol: band-limited tones (no harmonic above Nyquist aliased back below
    # it) between 440 Hz and 2 kHz, so every clip is a few clean lines a small decoder can place, and
    # twice the demo's steps. README "Quick start" shows what it learns in ~3 min on 2 cores.
    c.data.grid.band_limited = True
    c.data.grid.freq_end = 2000.0
    c.train.steps = 800
    c.train.ckpt_every = 400
  if a.smoke:  # 4 x 6 x 2 = 48 clips
    c.data.grid.num_freqs = 6
    c.data.grid.num_amps = 2
    c.train.batch_size = 8
    c.train.steps = 3
    c.train.ckpt_every = 2
    c.train.log_every = 1
    c.train.progress = False
    c.eval.num_examples = 48
    c.eval.batch_size = 16
    c.eval.num_audio = 1
    c.eval.griffin_lim_iters = 2
    c.eval.metric_train_size = 32
  return c, a
