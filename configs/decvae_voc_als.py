"""DecVAE on VOC-ALS (spec §2.1 config_pretraining_voc_als_NoC4): FD NoC 4, waveform, 6 s clips after skipping
the first second. The original never trains on VOC-ALS: SimVowels / TIMIT models are applied zero-shot
(`decompjax eval` with this config's data on a trained workdir); the config fixes the decomposition and the
analysed factors, and can still train (the "unused" optimiser values are the committed ones).

Needs a local VOC-ALS copy: --config.data.dir=/path/to/VOC-ALS. Args: 'smoke' / 'demo'.
"""
from __future__ import annotations

from configs import common, decvae_simvowels as base_preset


def get_config(arg=None):
  a = common.parse_arg(arg, smoke=False, demo=False)
  from decompjax.decomposition import config as decomp_config
  d = decomp_config.timit_config()
  d.method, d.noc, d.noc_seq = "fd", 4, 4
  d.n_peaks = 3
  d.emd.max_iteration = 100
  d.vmd.init, d.vmd.tol = 1, 1e-5
  c = base_preset.base(d, data_name="voc_als", seconds=6.0, factors_z=("king_stage", "task", "speaker_frame"),
                       factors_s=("king_stage", "task", "speaker_seq"))
  c.data.input_type = "waveform"
  c.data.skip_seconds = 1.0         # the first second of each recording is skipped
  c.data.metadata = ""              # the VOC-ALS metadata sheet (CSV; '' -> looked for under data.dir)
  c.data.min_seconds = 1.0
  m = c.model
  m.attention_heads_s = 6
  m.beta_z = m.beta_s = 0.1
  c.optim.lr = 5e-5
  c.train.batch_size = 8
  c.eval.split = "test"             # VOC-ALS has one split (zero-shot analysis)
  base_preset.corpus_sizes(c, a, demo_seconds=1.0)
  return c
