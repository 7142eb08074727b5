"""DecVAE on IEMOCAP (spec §2.1 config_finetune_iemocap_NoC4): SSL domain adaptation with the pre-training loss,
FD NoC 4 / NoC_seq 5, waveform, 7 s after skipping 1 s, constant learning rate 5e-6 for 25 epochs.

Needs a local IEMOCAP copy: --config.data.dir=/path/to/IEMOCAP_full_release; start from a pre-trained workdir
with --config.init_from=WORKDIR. Args: 'smoke' / 'demo'.
"""
from __future__ import annotations

from configs import common, decvae_simvowels as base_preset


def get_config(arg=None):
  a = common.parse_arg(arg, smoke=False, demo=False)
  from decompjax.decomposition import config as decomp_config
  d = decomp_config.timit_config()
  d.method, d.noc, d.noc_seq = "fd", 4, 5
  c = base_preset.base(d, data_name="iemocap", seconds=7.0, factors_z=("phoneme", "speaker_frame", "emotion"),
                       factors_s=("speaker_seq", "emotion"))
  c.data.input_type = "waveform"
  c.data.skip_seconds = 1.0
  m = c.model
  m.attention_heads_s = 6
  m.project_ocs = False
  m.max_frames = 175
  m.weights.update(dict(w_pos=0.25, w_pos1=0.25, w_pos2=0.25, w_pos3plus=0.25, w_neg=0.16666))
  m.beta_z = m.beta_s = 0.0
  o = c.optim
  o.lr = o.s.lr = 5e-6
  o.schedule = o.s.schedule = "constant"
  o.warmup_steps = o.s.warmup_steps = 0
  c.train.batch_size = 8
  c.train.steps = 16_300            # 25 epochs x 652
  c.train.log_every = 652
  c.train.ckpt_every = 3260
  c.train.eval_every = 652
  base_preset.corpus_sizes(c, a, demo_seconds=2.0)
  return c
