"""STFT VQ-VAE on one UCR dataset ([BT] 'VQVAE with STFT'; defaults = the original's config.yaml).

  decompjax train --config=configs/vqvae_ucr.py --config.data.ucr_dir=/path --config.data.name=ECG200 --workdir=runs/v
  arg 'smoke': tiny model and 3 steps (tests). data.ucr_dir '' = the set shipped in decompjax/resources/ucr.
Batch size: the original uses 128 without drop_last, i.e. one full-data batch per epoch for sets with
<= 128 train series; the trainer draws fixed-size batches from a repeated shuffled stream, so for small
sets set train.batch_size <= n_train (the sweep does: min(128, n_train) rounded to the device count).
"""
import ml_collections

from configs.common import base_config, parse_arg


def get_config(arg=None):
  a = parse_arg(arg, smoke=False)
  c = base_config()
  c.model.family = "vqvae"
  c.model.n_fft = 8
  c.model.hop = 0                  # 0 = n_fft // 4 (torch default)
  c.model.window = "rect"          # torch.stft without a window
  c.model.dim = 64
  c.model.n_resnet_blocks = 4
  c.model.downsampled_width = 8
  c.model.codebook_size = 32
  c.model.decay = 0.8
  c.model.commitment = 1.0         # beta; the original uses 1, not 0.25
  c.model.kmeans_init = False      # [BT] default; [TV]@HEAD uses True
  c.model.kmeans_iters = 10
  c.model.dead_code_threshold = 0.0

  c.data.name = "ECG200"
  c.data.ucr_dir = ""
  # Series length and channel count (the model's input shape); 0 = from the data, filled in before the run
  # saves config.json (so restoring a checkpoint needs no data).
  c.data.length = 0
  c.data.channels = 0
  c.data.standardize = True        # one global scalar mean/std of the train matrix
  # Missing values inside a series (trailing NaN padding is always 0): "error" (default) or "interpolate".
  c.data.nan_policy = "error"
  c.data.shuffle_buffer = 10_000

  # Reproduce the original's defects (all off = fixed behaviour).
  c.compat = ml_collections.ConfigDict()
  c.compat.istft_drop_odd_last = False   # original: the last sample of odd-length series is always 0

  c.train.steps = 1500             # = 1500 epochs for sets with <= batch_size train series
  c.train.batch_size = 128
  c.mesh.cpu_devices = 0           # auto: on a CPU host, 2 devices per core (decompjax/cpu_devices.py)
  c.train.log_every = 50
  c.train.ckpt_every = 500
  c.train.eval_every = 0

  c.optim.name = "adamw"
  c.optim.lr = 1e-3
  c.optim.weight_decay = 1e-3
  c.optim.decay_steps = c.train.steps  # cosine to 0 over the run (set it with train.steps)

  c.eval.batch_size = 256
  c.eval.kmeans_repeats = 15       # the original's 15 KMeans(n_init=10) silhouette runs
  c.eval.tsne = True
  c.eval.num_recon_plots = 6

  if a.smoke:
    c.model.dim = 16
    c.model.n_resnet_blocks = 1
    c.train.steps = 3
    c.optim.decay_steps = 3
    c.train.batch_size = 16
    c.train.log_every = 1
    c.train.ckpt_every = 1000
    c.train.progress = False
    c.eval.kmeans_repeats = 1
    c.eval.tsne = False
    c.eval.num_recon_plots = 2
  return c
