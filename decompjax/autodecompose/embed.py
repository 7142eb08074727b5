"""Embeddings of audio files from a trained Autodecompose run (the notebook's encoder_p / encoder_q API).

    from decompjax.autodecompose import embed
    e = embed(workdir, ["a.flac", "b.wav"], encoder="voice")   # [N_crops, 64, 128]

Each file is read, mixed to mono, resampled to 16 kHz, turned into the run's mel front end and cut into
64-frame crops (a file shorter than one crop, ~1.02 s, is an error naming it). The result stacks the crops of
all files in order; `pool='mean'` returns one 128-D vector per crop (mean over its 64 frames), 'file' one
vector per file (mean over all its frames).
"""
from __future__ import annotations

import numpy as np

from decompjax.autodecompose import data, features as feat_lib, inference
from decompjax.data import speech_corpus


def file_crops(path: str, feats: feat_lib.MelFeatures, seed: int = 0) -> np.ndarray:
  import os
  if not os.path.isfile(path):
    raise FileNotFoundError(f"audio file not found: {path}")
  try:
    wav = speech_corpus.read_audio(path, feats.sample_rate, feats.min_samples)
  except speech_corpus._Skip as s:  # noqa: SLF001 - same module family, one reason string
    raise ValueError(f"cannot embed {path}: {s.reason.replace('_', '-')} file "
                     f"(need readable audio of at least {feats.min_samples / feats.sample_rate:.2f} s)") from None
  return feat_lib.wav_to_crops(wav, feats, np.random.default_rng(seed))


def embed(workdir: str, audio_paths, encoder: str = "voice", pool: str = "none", *, step: int | None = None,
          batch_size: int = 256, return_counts: bool = False):
  """-> [N_crops, 64, emb] (pool='none'), [N_crops, emb] ('mean') or [N_files, emb] ('file')."""
  if isinstance(audio_paths, str):
    audio_paths = [audio_paths]
  if not audio_paths:
    raise ValueError("no audio files given")
  if pool not in ("none", "mean", "file"):
    raise ValueError(f"pool={pool!r} is not 'none', 'mean' or 'file'")
  config, state = inference.load_trained(workdir, step)
  feats = data.feature_spec(config)
  crops = [file_crops(p, feats, config.seed) for p in audio_paths]
  counts = [len(c) for c in crops]
  emb = inference.encode(config, state, np.concatenate(crops), encoder, batch_size)
  if pool == "mean":
    emb = emb.mean(axis=1)
  elif pool == "file":
    bounds = np.cumsum([0] + counts)
    emb = np.stack([emb[a:b].mean(axis=(0, 1)) for a, b in zip(bounds[:-1], bounds[1:])])
  return (emb, counts) if return_counts else emb
