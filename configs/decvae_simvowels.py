"""DecVAE on SimVowels (spec §2.1 config_pretraining_sim_vowels_NoC3; choices and deviations: docs/decvae.md).

Args (after ':'): 'smoke' (tiny model, 0.5 s clips, a handful of utterances, 3 steps: tests, seconds),
'demo' (the CPU preset of spec §8: 1 s clips, 400/50/50 utterances, FD NoC 3, 32/64-channel conv stacks; a few
minutes on 2 cores), default = the paper's SimVowels config (EWT NoC 3, mel patches, 512-channel Z stack, 4 s
clips, batch 16, two AdamW optimisers). Decomposition: --config.decomp.method=fd|ewt|vmd|emd,
--config.decomp.noc=..., --config.decomp.noc_seq=....
`base(...)` is the shared DecVAE layout the TIMIT / VOC-ALS / IEMOCAP presets start from.
"""
from __future__ import annotations

import ml_collections

from configs import common


def num_frames(seconds: float, sample_rate: int = 16000, frame: int = 400, hop: int = 320) -> int:
  """Frames of a clip: 25 ms windows every 20 ms (4 s -> 199, 1 s -> 49)."""
  return 1 + (int(round(seconds * sample_rate)) - frame) // hop


def base(decomp: ml_collections.ConfigDict, *, data_name: str, seconds: float, factors_z, factors_s):
  """The paper-size DecVAE config on one dataset (SimVowels values of spec §2.1; presets override)."""
  from decompjax.families.decvae import evaluate  # D4's config.eval block, kept in one place
  c = common.base_config()
  c.decomp = decomp

  m = c.model
  m.family = "decvae"
  # Z branch: the wav2vec2 conv stack per 400-sample frame and level (kernels / strides turn 400 into 1).
  m.conv_dim_z = (512,) * 7
  m.kernels = (10, 3, 3, 3, 3, 2, 2)
  m.strides = (5, 2, 2, 2, 2, 2, 2)
  m.conv_dim_s = (192,) * 7         # S branch conv stack over whole sequences (same kernels / strides)
  m.hidden_size = 512               # feature projection
  m.proj_intermediate_dim = 512     # project_z / project_s inner width
  m.proj_dim = 192                  # features h compared by the decomposition loss
  m.z_dim = 48
  m.s_dim = 24
  m.attention_heads_s = 6
  m.project_ocs = True              # the OCs_proj latent
  m.branches = "dual"               # 'dual' | 'z' | 's'
  # 'layer' = per-frame LayerNorm (ours); 'batch_compat' = the original's batch-statistics CustomLayerNorm.
  m.norm = "layer"
  # Objective. Deviations from the original are options with the original's value noted (docs/decvae.md).
  m.js_variant = "sum_clamp"        # original; 'mean' = per-frame mean JS (no saturation)
  m.max_frames = 100                # N frames sampled per utterance for the loss (all usable ones at eval)
  m.weights = ml_collections.ConfigDict(dict(w_pos=1 / 3, w_pos1=1 / 3, w_pos2=1 / 3, w_pos3plus=1 / 3,
                                             w_neg=1 / 3))
  m.beta_z = 1.0
  m.beta_s = 1.0
  m.gamma_z = 10.0                  # prior_reg_weighting_z
  m.gamma_s = 400.0                 # prior_reg_weighting_s
  m.train_x_head = False            # original: the X head's KL is commented out (X latent untrained)
  m.mask_missing_components = True  # original: False (zero-filled slots compared like found components)
  m.grad_scale_1_over_w = False     # original: True (gradients x 1/W before clipping)

  c.data.name = data_name
  c.data.dir = ""                   # local corpus root ('' for SimVowels)
  c.data.cache_dir = ""             # '' -> decompjax.data.paths.default_data_dir()
  c.data.seconds = seconds          # clip length (padded / cut)
  c.data.sample_rate = 16000
  c.data.frame = 400                # 25 ms
  c.data.hop = 320                  # 20 ms
  c.data.input_type = "mel"         # 'waveform' | 'mel' (80x5 patch per frame, flattened to 400)
  c.data.mel = ml_collections.ConfigDict(dict(n_mels=80, mel_hops=4))
  c.data.drop_overlap_frames = True  # frames straddling a label change are left out of evaluation
  c.data.shuffle_buffer = 1000
  c.data.quality_figures = True     # decomposition diagnostics figures (first split) beside diagnostics.json

  # Optimisers: config.optim = the Z group (and the global gradient clip), config.optim.s = the S group.
  o = c.optim
  o.name, o.lr, o.b1, o.b2, o.eps, o.weight_decay = "adamw", 8e-5, 0.5, 0.999, 1e-6, 1e-4
  o.grad_clip = 2.0                 # global norm over both groups
  o.warmup_steps = 5000
  o.schedule = "constant_with_warmup"   # 'constant' | 'constant_with_warmup' | 'linear'
  o.s = ml_collections.ConfigDict(dict(name="adamw", lr=1e-4, b1=0.5, b2=0.999, eps=1e-6, weight_decay=1e-4,
                                       warmup_steps=5000, schedule="linear"))

  c.train.batch_size = 16
  c.train.steps = 29_250            # 117 epochs x 250 steps: where the original's early stopping ends it
  c.train.log_every = 250
  c.train.ckpt_every = 2500
  c.train.eval_every = 250
  c.train.eval_batches = 8
  c.train.keep_best_by = "val/loss"   # the original also saves on a new minimum validation loss

  c.eval = evaluate.eval_config(factors_z, factors_s)
  return c


def get_config(arg=None):
  a = common.parse_arg(arg, smoke=False, demo=False)
  from decompjax.decomposition import config as decomp_config
  c = base(decomp_config.default_config(), data_name="simvowels", seconds=4.0,
           factors_z=("vowel", "speaker_frame"), factors_s=("speaker_seq",))
  c.data.simvowels = ml_collections.ConfigDict(dict(num_train=4000, num_validation=500, num_test=300,
                                                    excitation="pulse", snr_db=15.0, seed=0))
  if a.demo:
    demo(c)
  if a.smoke:
    smoke(c)
  return c


def demo(c) -> None:
  """Spec §8's CPU preset: 1 s clips (49 frames), 400/50/50 utterances, FD NoC 3, small conv stacks."""
  c.decomp.method = "fd"
  c.decomp.noc = 3
  c.decomp.noc_seq = 2
  c.data.seconds = 1.0
  if "simvowels" in c.data:
    c.data.simvowels.update(dict(num_train=400, num_validation=50, num_test=50))
  m = c.model
  m.conv_dim_z = (64,) * 7
  m.conv_dim_s = (32,) * 7
  m.hidden_size = 128
  m.proj_intermediate_dim = 128
  m.proj_dim = 64
  m.z_dim = 16
  m.s_dim = 8
  m.attention_heads_s = 4
  m.max_frames = 25
  c.train.batch_size = 8
  c.train.steps = 600               # 12 epochs of 50 steps
  c.train.log_every = 50
  c.train.ckpt_every = 300
  c.train.eval_every = 100
  c.train.eval_batches = 4
  c.optim.warmup_steps = 100
  c.optim.s.warmup_steps = 100
  c.optim.lr = 5e-4                 # the paper's rates assume ~30k steps; 600 steps need larger ones
  c.optim.s.lr = 5e-4
  c.eval.max_points = 2000
  c.eval.tsne_points = 400


def corpus_sizes(c, a, demo_seconds: float) -> None:
  """The corpora's 'demo' / 'smoke' variants: the SimVowels sizes with FD NoC 4 (their datasets' NoC)."""
  if a.demo:
    demo(c)
    c.decomp.noc = 4
    c.data.seconds = demo_seconds
  if a.smoke:
    smoke(c)
    c.decomp.noc = 4


def smoke(c) -> None:
  """Tiny everything (tests): seconds per run."""
  c.decomp.method = "fd"
  c.decomp.noc = 3
  c.decomp.noc_seq = 2
  c.data.seconds = 0.5              # 24 frames
  if "simvowels" in c.data:
    c.data.simvowels.update(dict(num_train=16, num_validation=8, num_test=8))
  c.data.shuffle_buffer = 64
  m = c.model
  m.conv_dim_z = (8,) * 7
  m.conv_dim_s = (8,) * 7
  m.hidden_size = 16
  m.proj_intermediate_dim = 16
  m.proj_dim = 16
  m.z_dim = 4
  m.s_dim = 4
  m.attention_heads_s = 2
  m.max_frames = 8
  c.train.batch_size = 8
  c.train.steps = 3
  c.train.log_every = 1
  c.train.ckpt_every = 2
  c.train.eval_every = 0
  c.train.keep_best_by = ""
  c.train.progress = False
  c.train.eval_at_end = False
  c.optim.warmup_steps = 1
  c.optim.s.warmup_steps = 1
  c.optim.lr = 1e-3
  c.optim.s.lr = 1e-3
  c.eval.batch_size = 8
  c.eval.max_points = 200
  c.eval.tsne = False
  c.eval.tsne_points = 50
  c.eval.traversal_step = 10
  c.eval.dci_trees = 5
  c.eval.rf_trees = 10
  c.eval.kmeans_init = 2
