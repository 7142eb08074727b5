"""Autodecompose (two encoders, complementary augmentations, one generator) on speech mel crops.

Args (after ':'): 'smoke' (tiny dense model, tiny SimVowels, a few steps: tests), 'demo' (Conv-128 with 32-d
embeddings on a small SimVowels set: a few minutes on 2 CPU cores), 'arch=large|lstm|conv|dense' (default
'large', the paper's model, 15.6 M parameters).
Data: `--config.data.dir=/path/to/LibriSpeech-layout` trains on a local corpus; '' uses SimVowels.
"""
from __future__ import annotations

import ml_collections

from configs import common


def get_config(arg=None):
  a = common.parse_arg(arg, smoke=False, demo=False, arch="large")
  c = common.base_config()
  c.model.family = "autodecompose"
  # Paper widths (notebook `get_large_encoder/decoder`); ModelSpec reads these fields.
  c.model.arch = a.arch
  c.model.emb_dim = 128
  c.model.n_mels = 80
  c.model.kernel = 5
  c.model.enc_conv = 512
  c.model.enc_conv_layers = 3
  c.model.enc_lstm = 256
  c.model.enc_lstm_layers = 3
  c.model.enc_dense = 512
  c.model.dec_conv = 512
  c.model.dec_conv_layers = 2
  c.model.dec_lstm = 512
  c.model.dec_lstm_layers = 2
  c.model.dec_dense = 1024

  c.data.name = "speech_mel_crops"
  c.data.dir = ""              # '' -> SimVowels; else a LibriSpeech-layout folder
  c.data.cache_dir = ""        # where generated SimVowels lives; '' -> decompjax.data.paths.default_data_dir()
  c.data.simvowels = ml_collections.ConfigDict(dict(
      excitation="pulse", seconds=4.0, snr_db=15.0, seed=0, num_train=4000, num_validation=500, num_test=300))
  c.data.corpus = ml_collections.ConfigDict(dict(holdout_every=10, max_files_per_speaker=0))

  c.features = ml_collections.ConfigDict(dict(preset="notebook"))   # 'notebook' | 'paper'
  c.augment = ml_collections.ConfigDict(dict(preset="notebook"))    # 'notebook' | 'paper'

  c.optim.name = "adam"        # Keras Adam, lr 1e-3, batch 32
  c.optim.lr = 1e-3
  c.train.batch_size = 32
  c.train.steps = 20_000
  c.train.ckpt_every = 2000
  c.train.log_every = 100

  c.eval.num_examples = 2048   # crops for the reconstruction error
  c.eval.batch_size = 256
  # Few-shot speaker probe (also `decompjax probe speaker`). split: SimVowels 'test' (unseen speakers, the
  # paper's OoD test) or, for a corpus, 'all' files of data.dir.
  c.probe = ml_collections.ConfigDict(dict(split="test", seconds=(10, 15, 30, 60, 120), seeds=5, pool="mean",
                                           test_fraction=0.3, tsne_points=600))

  if a.demo:
    c.model.arch = "conv"
    c.model.enc_conv = c.model.dec_conv = 128
    c.model.emb_dim = 32
    c.data.simvowels.num_train = 600     # 1,800 crops of 10 speakers
    c.data.simvowels.num_validation = 50
    c.data.simvowels.num_test = 300      # 5 unseen speakers x ~184 s: enough for the 120 s column
    c.train.steps = 1500
    c.train.ckpt_every = 500
    c.train.log_every = 50
  if a.smoke:
    c.model.arch = "dense" if a.arch == "large" else a.arch
    c.model.enc_conv = c.model.dec_conv = 16
    c.model.enc_lstm = c.model.dec_lstm = 8
    c.model.enc_dense = 16
    c.model.dec_dense = 16
    c.model.emb_dim = 8
    c.data.simvowels.seconds = 2.1       # 2 crops per utterance
    c.data.simvowels.num_train = 16
    c.data.simvowels.num_validation = 8
    c.data.simvowels.num_test = 40       # 5 speakers x 8 utterances x 2 crops
    c.data.shuffle_buffer = 64
    c.train.batch_size = 8
    c.train.steps = 3
    c.train.ckpt_every = 2
    c.train.log_every = 1
    c.train.progress = False
    c.eval.num_examples = 16
    c.eval.batch_size = 16
    c.probe.seconds = (2, 4)
    c.probe.seeds = 2
    c.probe.tsne_points = 40
  return c
