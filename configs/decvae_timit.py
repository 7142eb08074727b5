"""DecVAE on TIMIT (spec §2.1 config_pretraining_timit_NoC4): EWT NoC 4 / NoC_seq 5, waveform input, 7.15 s.

Needs a local TIMIT copy in its published layout: --config.data.dir=/path/to/TIMIT (TRAIN/, TEST/).
Args: 'smoke' / 'demo' as in configs/decvae_simvowels.py (model and run sizes only).
"""
from __future__ import annotations

from configs import common, decvae_simvowels as base_preset


def get_config(arg=None):
  a = common.parse_arg(arg, smoke=False, demo=False)
  from decompjax.decomposition import config as decomp_config
  c = base_preset.base(decomp_config.timit_config(), data_name="timit", seconds=7.15,
                       factors_z=("phoneme", "speaker_frame"), factors_s=("speaker_seq",))
  c.data.input_type = "waveform"
  m = c.model
  m.z_dim, m.s_dim = 64, 32
  m.attention_heads_s = 12
  m.project_ocs = False
  m.max_frames = 178                # ~50 % of the 357 frames
  m.weights.update(dict(w_pos=0.25, w_pos1=0.25, w_pos2=0.25, w_pos3plus=0.25, w_neg=0.1666))
  m.beta_z = m.beta_s = 0.0
  c.train.batch_size = 8            # the logging interval implies 8 (the committed config says 1)
  c.train.steps = 100 * 433
  c.train.log_every = 433
  c.train.ckpt_every = 4330
  c.train.eval_every = 433
  c.optim.warmup_steps = c.optim.s.warmup_steps = 8650
  base_preset.corpus_sizes(c, a, demo_seconds=2.0)
  return c
