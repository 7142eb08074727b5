"""Evaluating a trained Autodecompose state: reconstruction error, the few-shot speaker probe, figures, and
embeddings of audio files.

`evaluate(config, state, workdir)` returns a Report: metrics (eval/metrics.json), the probe table as
speaker_probe.csv / .md, the figures tsne_speakers (E_s and E_c crop vectors, one colour per speaker) and
augmentations (the notebook's three views: augmented base, A_s "maintain voice", A_c "maintain content").
"""
from __future__ import annotations

import dataclasses

import jax
import numpy as np

from decompjax import sharding
from decompjax.audio import speech_features as feat_lib
from decompjax.errors import UsageError
from decompjax.evaluation import batching, few_shot, figures
from decompjax.evaluation.report import Report
from decompjax.families.autodecompose import augment, data, model
from decompjax.families.autodecompose.loss import make_eval_step

_NOTEBOOK = feat_lib.from_preset("notebook")
# Seconds of audio in one crop (64 frames x 256 samples at 16 kHz = 1.024 s; the same for both presets).
CROP_SECONDS = _NOTEBOOK.crop_frames * _NOTEBOOK.hop / _NOTEBOOK.sample_rate
# Probe feature names (table rows) -> their short names in metric keys (speaker_f1_<short>_<k>s).
PROBE_FEATURES = {"E_s (voice)": "voice", "E_c (content)": "content", "raw mel": "mel"}


def spec_axes(feats: feat_lib.MelFeatures, vmax: float = 1.0) -> figures.SpecAxes:
  """Time in seconds, rows in Hz, colour bar in dB: `speech_features.mel_spectrogram`'s scaling undone."""
  if feats.db_mode == "power_ref1":  # (dB + 100) / 200
    label, db_at = "log-mel power (dB re 1)", lambda v: 200.0 * v - 100.0
  else:  # AutoVC: clip((dB + 100) / 100, 0, 1)
    label, db_at = "log-mel magnitude (dB, AutoVC scale)", lambda v: 100.0 * v - 100.0
  sa = figures.mel_axes(feats.sample_rate, feats.hop, feats.n_mels, feats.fmin, feats.fmax, label,
                        db_range=(db_at(0.0), db_at(vmax)))
  return dataclasses.replace(sa, vmax=vmax)


def augmentation_panels(mel: np.ndarray, cfg: augment.AugmentConfig, seed: int = 0,
                        feats: feat_lib.MelFeatures | None = None):
  """The input crop [T, F] and its three views on one colour scale (0 = the masks' fill value up to the largest
  value shown), so a masked region does not recolour the rest of its panel. Returns the Figure."""
  triplet = jax.jit(lambda k, m: augment.augment_triplet(k, m, cfg))  # one compilation, not one per op
  views = [np.asarray(mel)] + [np.asarray(v) for v in triplet(jax.random.key(seed), mel)]
  vmax = float(max(v.max() for v in views)) or 1.0
  sa = spec_axes(feats, vmax) if feats is not None else figures.SpecAxes(value_label="model input", vmax=vmax)
  return figures.image_grid_figure([v.T for v in views], cols=4, spec_axes=sa, panel_size=2.6,
                                   panel_titles=("input", "augmented base (target)", "A_s: maintain voice",
                                                 "A_c: maintain content"))


def reconstruction_mse(config, state, mels: np.ndarray, batch_size: int, seed: int = 0) -> float:
  """Mean MSE of G(E_s(A_s), E_c(A_c)) against the base, eval mode, fixed augmentation keys (seed + batch
  index). Full batches of min(batch_size, N) crops only (one compilation, and the same crops and keys on any
  mesh), sharded over the state's mesh when the batch divides it (else replicated)."""
  def build():
    step = make_eval_step(config)
    return lambda s, batch, key_seed: step(s, batch, jax.random.key(key_seed))["loss"]

  run = batching.mesh_jit(("autodecompose.recon_mse", batching.config_key(config)), build)
  mesh = batching.state_mesh(state.params)
  state = batching.replicate(state, mesh)
  b = min(batch_size, len(mels))
  place = batching.to_mesh if b % sharding.data_size(mesh) == 0 else batching.replicate
  losses = [float(batching.call_on_mesh(run, mesh, state, place({"mel": np.asarray(mels[i:i + b])}, mesh),
                                        batching.replicate(np.int32(seed + i), mesh)))
            for i in range(0, len(mels) - b + 1, b)]
  return float(np.mean(losses))


def encode(config, state, mels: np.ndarray, encoder: str = "voice", batch_size: int = 256) -> np.ndarray:
  """[N, 64, F] crops -> [N, 64, emb] per-frame embeddings from E_s ('voice') or E_c ('content'), running
  BatchNorm statistics (eval mode): one jitted function per config and encoder (the variables are arguments),
  batches sharded over the state's mesh."""
  if encoder not in model.ENCODERS:
    raise ValueError(f"encoder={encoder!r} is not one of {', '.join(model.ENCODERS)}")
  if len(mels) == 0:
    raise ValueError("no crops to embed")
  method = getattr(model.Autodecompose, model.ENCODERS[encoder])

  def build():
    net = model.make_model(config)
    return lambda variables, x: net.apply(variables, x, method=method)

  run = batching.mesh_jit(("autodecompose.encode", encoder, batching.config_key(config.model)), build)
  return batching.map_on_mesh(run, model.variables(state), np.asarray(mels, np.float32), batch_size,
                              mesh=batching.state_mesh(state.params))


def speaker_probe(config, state, crops: data.Crops, *, seconds=None, seeds: int | None = None,
                  pool: str | None = None, test_fraction: float | None = None, tsne_points: int | None = None,
                  batch_size: int | None = None) -> Report:
  """The paper's few-shot speaker-ID probe (`evaluation.few_shot`) on every crop embedded by E_s, by E_c and as
  raw mel, pooled per crop. Unset arguments come from config.probe (batch_size: config.eval.batch_size).
  -> Report: metrics speaker_f1_<voice|content|mel>_<k>s, tables speaker_probe.csv / .md, figure tsne_speakers
  (unless tsne_points is 0)."""
  p = config.probe
  seconds = tuple(p.seconds if seconds is None else seconds)
  seeds = p.seeds if seeds is None else seeds
  pool = p.pool if pool is None else pool
  test_fraction = p.test_fraction if test_fraction is None else test_fraction
  tsne_points = p.tsne_points if tsne_points is None else tsne_points
  batch_size = config.eval.batch_size if batch_size is None else batch_size
  voice = model.pool(encode(config, state, crops.mel, "voice", batch_size), pool)
  content = model.pool(encode(config, state, crops.mel, "content", batch_size), pool)
  feats = dict(zip(PROBE_FEATURES, (voice, content, model.pool(crops.mel, pool))))
  f = data.feature_spec(config)
  rows = few_shot.few_shot_f1(feats, crops.speaker, crops.group, seconds=seconds, seeds=seeds,
                              test_fraction=test_fraction, crop_seconds=f.crop_frames * f.hop / f.sample_rate)
  report = Report(metrics={f"speaker_f1_{PROBE_FEATURES[r['feature']]}_{r['seconds']}s": r["f1_mean"]
                           for r in rows},
                  tables=few_shot.tables(rows, "speaker_probe"))
  if tsne_points:
    report.figures["tsne_speakers"] = few_shot.speaker_scatter_figure(
        {"E_s": voice, "E_c": content}, crops.speaker, max_points=tsne_points, names=crops.speaker_names)
  return report


def evaluate(config, state, workdir: str) -> Report:
  """Reconstruction MSE on up to eval.num_examples crops, the speaker probe and the figures, on the crops of
  config.probe.split (SimVowels 'test': speakers unseen in training)."""
  del workdir  # the Report is written by the caller
  e = config.eval
  crops = data.load_crops(config, config.probe.split)
  report = Report(metrics={"eval_crops": int(len(crops.mel)), "eval_speakers": int(len(np.unique(crops.speaker)))})
  limit = min(len(crops.mel), e.num_examples)
  report.metrics["recon_mse"] = reconstruction_mse(config, state, crops.mel[:limit], e.batch_size)
  report.merge(speaker_probe(config, state, crops, batch_size=e.batch_size))
  report.figures["augmentations"] = augmentation_panels(crops.mel[0], augment.from_config(config),
                                                        feats=data.feature_spec(config))
  return report


EMBED_POOLS = ("none", "mean", "file")


def check_embed_request(audio_paths, encoder: str, pool: str) -> list[str]:
  """-> the paths as a list; an empty request, an unknown encoder or pooling is an error (before any work)."""
  audio_paths = [audio_paths] if isinstance(audio_paths, str) else list(audio_paths)
  if not audio_paths:
    raise UsageError("no audio files given")
  if encoder not in model.ENCODERS:
    raise UsageError(f"encoder={encoder!r} is not one of {', '.join(model.ENCODERS)}")
  if pool not in EMBED_POOLS:
    raise UsageError(f"pool={pool!r} is not one of {', '.join(EMBED_POOLS)}")
  return audio_paths


def embed_files(config, state, audio_paths, encoder: str = "voice", pool: str = "none", batch_size: int = 256,
                return_counts: bool = False):
  """Embeddings of audio files by a trained state: every file is cut into the run's mel crops, the crops of all
  files stacked in order. -> [N_crops, 64, emb] (pool='none'), [N_crops, emb] ('mean' over each crop's frames)
  or [N_files, emb] ('file': mean over all frames of a file); with the crops per file if return_counts."""
  audio_paths = check_embed_request(audio_paths, encoder, pool)
  feats = data.feature_spec(config)
  crops = [data.file_crops(p, feats, config.seed) for p in audio_paths]
  counts = [len(c) for c in crops]
  emb = encode(config, state, np.concatenate(crops), encoder, batch_size)
  if pool == "mean":
    emb = emb.mean(axis=1)
  elif pool == "file":
    bounds = np.cumsum([0] + counts)
    emb = np.stack([emb[a:b].mean(axis=(0, 1)) for a, b in zip(bounds[:-1], bounds[1:])])
  return (emb, counts) if return_counts else emb


def latents(config, state, max_examples: int) -> list:
  """`decompjax compare`'s view: E_s and E_c, mean-pooled per crop, of the first max_examples crops of
  config.probe.split; the speaker as the label (a generative factor of SimVowels, not of a corpus)."""
  from decompjax.evaluation.latents import LatentSet, config_dict
  split = config.probe.split
  crops = data.load_crops(config, split)
  n = min(len(crops.mel), int(max_examples))
  mel, speaker, group = crops.mel[:n], crops.speaker[:n].astype(np.int64), crops.group[:n]
  # a crop's id: its utterance and its place among that utterance's crops (the crops come in utterance order)
  ids = [f"utt{int(g)}/crop{int(np.sum(group[:i] == g))}" for i, g in enumerate(group)]
  if config.data.dir:
    dataset = {"data": "speech_corpus", "dir": config.data.dir, "corpus": config_dict(config.data.corpus)}
    factors, reason = (), "no factor labels (a corpus's speakers are labels, not generative factors)"
  else:
    dataset = {"data": "simvowels", "simvowels": config_dict(config.data.simvowels)}
    factors, reason = ("speaker",), ""
  dataset.update(split=split, features=config.features.preset, crop_seed=int(config.seed), unit="mel crop")
  out = []
  for name, encoder in (("E_s (voice)", "voice"), ("E_c (content)", "content")):
    codes = model.pool(encode(config, state, mel, encoder, config.eval.batch_size), "mean")
    out.append(LatentSet(name=name, dataset=dataset, codes=codes, ids=ids, labels={"speaker": speaker},
                         factors=factors, no_factors_reason=reason))
  return out
