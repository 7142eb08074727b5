"""The decomposition knobs (`config.decomp`): one ConfigDict, SimVowels defaults of specs/decvae.md §2.1.

Every field is documented where it is set. `timit_config()` is the TIMIT / VOC-ALS / IEMOCAP preset of the same
table. `check(cfg)` validates the values the library reads and raises ConfigError naming the field.
"""
from __future__ import annotations

import ml_collections

from decompjax.errors import ConfigError

METHODS = ("fd", "ewt", "vmd", "emd")
GROUPINGS = ("equally_distribute", "high_freqs_first", "low_freqs_first")


def default_config() -> ml_collections.ConfigDict:
  """SimVowels pretraining defaults (config_pretraining_sim_vowels_NoC3)."""
  c = ml_collections.ConfigDict()
  c.method = "ewt"                  # 'fd' | 'ewt' | 'vmd' | 'emd'
  c.noc = 3                         # components per frame (OC1..OCC, low -> high frequency)
  c.noc_seq = 3                     # components of the whole sequence (S branch)
  c.frame_level = True              # decompose 25 ms frames
  c.seq_level = True                # decompose the whole utterance
  c.notch = True                    # 55-70 Hz band-stop on the utterance before framing (original: always on)
  c.grouping = "equally_distribute"  # how > noc components are merged (grouping.py)
  # Peak detection (FD bands; spec §1.2). Frequencies in Hz.
  c.lower_speech_freq = 50.0        # not in the committed configs; our choice (just below the notch band)
  c.higher_speech_freq = 5000.0     # top of the searched band
  c.detection_intervals = 5         # the band is cut into this many power-law spaced intervals
  c.power_law = 0.8                 # interval edges ~ v**power_law, v = 1..N+1, rescaled to the band
  c.min_distance = 150.0            # find_peaks distance between peaks, Hz (converted to PSD bins)
  c.peak_bandwidth = 200.0          # each peak gives a band of +- peak_bandwidth/2 Hz; overlapping bands merge
  c.n_peaks = 6                     # top peaks kept per interval
  c.global_thres = 1e-3             # an interval whose max normalised PSD is below this is skipped
  c.prom_thres = 0.01               # peaks need prominence >= prom_thres * max (normalised PSD max = 1)
  c.nfft = 512                      # Welch nfft (Hann, nperseg 132, noverlap 10)
  c.spec_amp_tol = 1e-5             # a frame component whose Welch PSD max is below this is dropped
  c.spec_amp_tol_seq = 1e-5         # the same at sequence level
  c.buttord = 2                     # FD Butterworth band-pass order (zero-phase)
  c.freq_groups = ()                # slot band edges in Hz (noc+1 values) for zero-filling; () = equal bands
  c.ewt = ml_collections.ConfigDict()
  c.ewt.reg = "gaussian"            # spectrum regularisation: 'gaussian' | 'average' | 'none'
  c.ewt.length_filter = 10          # regularisation kernel length
  c.ewt.sigma_filter = 2.0          # Gaussian sigma (bins)
  c.ewt.log = False                 # detect on the log spectrum
  # Completion is always on (fixed shapes): too few maxima -> the top band is split equally.
  c.vmd = ml_collections.ConfigDict()
  c.vmd.alpha = 1500.0              # bandwidth constraint
  c.vmd.tau = 0.0                   # dual ascent step (0 = noise slack)
  c.vmd.init = 2                    # 0 zeros, 1 uniform, 2 random (seeded)
  c.vmd.tol = 1e-8                  # convergence tolerance of the ADMM updates
  c.vmd.max_iter = 500              # iteration cap (vmdpy's Niter)
  c.vmd.dc = False                  # first mode pinned at 0 Hz
  c.emd = ml_collections.ConfigDict()
  c.emd.spline_kind = "pchip"       # envelope interpolant: 'pchip' | 'cubic'
  c.emd.max_iteration = 1000        # sifting iterations per IMF
  c.emd.energy_ratio_thr = 5e-3     # IMF stop tests (Huang / Cauchy-like), as PyEMD
  c.emd.std_thr = 0.1
  c.emd.svar_thr = 0.01
  c.emd.total_power_thr = 1e-4      # decomposition stops when the residue is this small (L1)
  c.emd.range_thr = 1e-3            # ... or its range is
  return c


def timit_config() -> ml_collections.ConfigDict:
  """TIMIT pretraining knobs (config_pretraining_timit_NoC4); VOC-ALS / IEMOCAP differ only as noted in §2.1."""
  c = default_config()
  c.noc, c.noc_seq, c.grouping = 4, 5, "high_freqs_first"
  c.higher_speech_freq, c.detection_intervals, c.power_law = 7500.0, 6, 1.4
  c.min_distance, c.peak_bandwidth, c.n_peaks = 50.0, 400.0, 2
  c.spec_amp_tol, c.spec_amp_tol_seq = 5e-6, 1e-6
  return c


def check(cfg) -> None:
  """Raises ConfigError for a value the decomposition cannot use."""
  def need(ok: bool, field: str, why: str):
    if not ok:
      raise ConfigError(f"decomp.{field}={_get(cfg, field)!r}: {why}")
  need(cfg.method in METHODS, "method", f"must be one of {METHODS}")
  need(cfg.grouping in GROUPINGS, "grouping", f"must be one of {GROUPINGS}")
  need(int(cfg.noc) >= 1, "noc", "must be >= 1")
  need(int(cfg.noc_seq) >= 1, "noc_seq", "must be >= 1")
  need(0 <= cfg.lower_speech_freq < cfg.higher_speech_freq, "higher_speech_freq",
       "must be above lower_speech_freq >= 0")
  need(int(cfg.detection_intervals) >= 1, "detection_intervals", "must be >= 1")
  need(cfg.power_law > 0, "power_law", "must be > 0")
  need(int(cfg.n_peaks) >= 1, "n_peaks", "must be >= 1")
  need(cfg.peak_bandwidth > 0, "peak_bandwidth", "must be > 0")
  need(len(cfg.freq_groups) in (0, int(cfg.noc) + 1), "freq_groups", "must be () or noc+1 band edges in Hz")
  need(cfg.ewt.reg in ("gaussian", "average", "none"), "ewt.reg", "must be 'gaussian', 'average' or 'none'")
  need(cfg.vmd.init in (0, 1, 2), "vmd.init", "must be 0, 1 or 2")
  need(cfg.emd.spline_kind in ("pchip", "cubic"), "emd.spline_kind", "must be 'pchip' or 'cubic'")


def _get(cfg, dotted: str):
  for part in dotted.split("."):
    cfg = getattr(cfg, part)
  return cfg
