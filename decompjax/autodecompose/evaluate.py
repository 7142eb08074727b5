"""`evaluate(config, state, workdir)`: reconstruction error, the few-shot speaker probe, figures.

Writes <workdir>/eval/metrics.json, speaker_probe.{csv,md}, tsne_speakers.png and augmentations.png (the
notebook's three views: augmented base, A_s "maintain voice", A_c "maintain content").
"""
from __future__ import annotations

import dataclasses
import json
import os

import jax
import numpy as np

from decompjax.autodecompose import augment, data, probe
from decompjax.autodecompose import features as feat_lib
from decompjax.evaluation import figures


def augmentation_figure(mel: np.ndarray, cfg: augment.AugmentConfig, path: str, seed: int = 0,
                        feats: feat_lib.MelFeatures | None = None) -> str:
  return figures.save_figure(augmentation_panels(mel, cfg, seed, feats), path)


def spec_axes(feats: feat_lib.MelFeatures, vmax: float = 1.0) -> figures.SpecAxes:
  """Time in seconds, rows in Hz, colour bar in dB: `features.mel_spectrogram`'s scaling undone."""
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
  """Mean MSE of G(E_s(A_s), E_c(A_c)) against the base, eval mode, fixed augmentation keys."""
  from decompjax.families.autodecompose import make_eval_step
  step = jax.jit(make_eval_step(config))
  b = min(batch_size, len(mels))
  losses = [float(step(state, {"mel": mels[i:i + b]}, jax.random.key(seed + i))["loss"])
            for i in range(0, len(mels) - b + 1, b)]  # full batches only: one compilation
  return float(np.mean(losses))


def evaluate(config, state, workdir: str) -> dict:
  out_dir = os.path.join(workdir, "eval")
  os.makedirs(out_dir, exist_ok=True)
  e = config.eval
  crops = data.load_crops(config, config.probe.split)
  results: dict = {"eval_crops": int(len(crops.mel)), "eval_speakers": int(len(np.unique(crops.speaker)))}
  limit = min(len(crops.mel), e.num_examples)
  results["recon_mse"] = reconstruction_mse(config, state, crops.mel[:limit], e.batch_size)
  rows = probe.run(config, state, crops, out_dir, seconds=tuple(config.probe.seconds), seeds=config.probe.seeds,
                   pool=config.probe.pool, test_fraction=config.probe.test_fraction,
                   tsne_points=config.probe.tsne_points, batch_size=e.batch_size)
  short = {"E_s (voice)": "voice", "E_c (content)": "content", "raw mel": "mel"}
  for r in rows:
    results[f"speaker_f1_{short[r['feature']]}_{r['seconds']}s"] = r["f1_mean"]
  augmentation_figure(crops.mel[0], augment.from_preset(config.augment.preset),
                      os.path.join(out_dir, "augmentations.png"), feats=data.feature_spec(config))
  with open(os.path.join(out_dir, "metrics.json"), "w") as f:
    json.dump(results, f, indent=2, sort_keys=True)
  with open(os.path.join(out_dir, "speaker_probe.md")) as f:
    results["probe_table"] = f.read()
  return results
