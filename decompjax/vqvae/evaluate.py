"""Evaluation of a trained (Barlow) VQ-VAE: eval-mode latents of the clean train/test series -> probes,
codebook usage, test reconstruction MSE (time and STFT), figures, <workdir>/eval/metrics.json.

Eval mode means BatchNorm running statistics and a codebook that the evaluation data do not update (the
original ran its probes in train mode: batch statistics, and EMA updates from test data).
"""
from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from decompjax.evaluation.batching import map_batches
from decompjax.vqvae import figures, probes


def encode_all(apply_fn, config, state, x: np.ndarray, batch_size: int) -> dict[str, np.ndarray]:
  """Runs `apply_fn(config, state, batch)` over x in fixed-size (padded) batches: one compilation."""
  run = jax.jit(lambda s, b: _summaries(apply_fn(config, s, b), b))
  return map_batches(lambda chunk: run(state, chunk), x, batch_size)


def _summaries(out, x):
  b = x.shape[0]
  return {"z_q": out["z_q"].reshape(b, -1), "idx": out["idx"].reshape(b, -1), "x_hat": out["x_hat"],
          "mse_time": jnp.mean((out["x_hat"] - x) ** 2, axis=(1, 2)),
          "mse_stft": jnp.mean((out["u_hat"] - out["u"]) ** 2, axis=(1, 2, 3))}


def evaluate_model(config, state, workdir: str, data, apply_fn) -> dict:
  t0 = time.perf_counter()
  e = config.eval
  tr = encode_all(apply_fn, config, state, data.train_x, e.batch_size)
  te = encode_all(apply_fn, config, state, data.test_x, e.batch_size)
  metrics = {"step": int(jax.device_get(state.step)), "dataset": data.name}
  metrics.update(probes.probe_metrics(tr["z_q"], data.train_y, te["z_q"], data.test_y,
                                      n_classes=data.num_classes, kmeans_repeats=e.get("kmeans_repeats", 15),
                                      seed=config.seed))
  metrics.update(probes.code_usage(te["idx"], config.model.codebook_size))
  metrics["test_mse_time"] = float(te["mse_time"].mean())
  metrics["test_mse_stft"] = float(te["mse_stft"].mean())
  metrics["latent_dim"] = int(tr["z_q"].shape[1])

  out_dir = os.path.join(workdir, "eval")
  os.makedirs(out_dir, exist_ok=True)
  if jax.process_index() == 0:
    figures.latent_scatter(te["z_q"], data.test_y, os.path.join(out_dir, "latents_test.png"),
                           tsne=e.get("tsne", True), seed=config.seed, title=f"{data.name} test z_q")
    n = min(e.get("num_recon_plots", 6), len(data.test_x))
    figures.reconstructions(data.test_x[:n], te["x_hat"][:n], data.test_y[:n],
                            os.path.join(out_dir, "reconstructions_test.png"))
    metrics["eval_seconds"] = round(time.perf_counter() - t0, 2)
    with open(os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8") as f:
      json.dump(metrics, f, indent=2, sort_keys=True)
  return metrics
