"""`evaluate(config, state, workdir)`: reconstruction error, the few-shot speaker probe, figures.

Writes <workdir>/eval/metrics.json, speaker_probe.{csv,md}, tsne_speakers.png and augmentations.png (the
notebook's three views: augmented base, A_s "maintain voice", A_c "maintain content").
"""
from __future__ import annotations

import json
import os

import jax
import numpy as np

from decompjax.autodecompose import augment, data, probe


def augmentation_figure(mel: np.ndarray, cfg: augment.AugmentConfig, path: str, seed: int = 0) -> str:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  triplet = jax.jit(lambda k, m: augment.augment_triplet(k, m, cfg))  # one compilation, not one per op
  base, a_s, a_c = (np.asarray(v) for v in triplet(jax.random.key(seed), mel))
  fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
  for ax, img, title in zip(axes, (mel, base, a_s, a_c),
                            ("input", "augmented base (target)", "A_s: maintain voice", "A_c: maintain content")):
    ax.imshow(img.T, origin="lower", aspect="auto", cmap="magma")
    ax.set_title(title)
    ax.set_xlabel("frame")
  axes[0].set_ylabel("mel bin")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


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
                      os.path.join(out_dir, "augmentations.png"))
  with open(os.path.join(out_dir, "metrics.json"), "w") as f:
    json.dump(results, f, indent=2, sort_keys=True)
  with open(os.path.join(out_dir, "speaker_probe.md")) as f:
    results["probe_table"] = f.read()
  return results
