"""Evaluation of a trained (Barlow) VQ-VAE: eval-mode latents of the clean train/test series -> probes,
codebook usage, test reconstruction MSE (time and STFT), figures; returned as a Report (eval/metrics.json,
latents_test.png, reconstructions_test.png once written).

Eval mode means BatchNorm running statistics and a codebook that the evaluation data do not update (the
original ran its probes in train mode: batch statistics, and EMA updates from test data).
"""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from decompjax.evaluation import batching, figures, probes
from decompjax.evaluation.report import Report
from decompjax.families.vqvae import data as vq_data
from decompjax.families.vqvae import model as vq_model
from decompjax.family import TrainState


def encode_all(apply_fn, config, state, x: np.ndarray, batch_size: int) -> dict[str, np.ndarray]:
  """Runs `apply_fn(config, state, batch)` over x in fixed-size (padded) batches sharded over the state's mesh,
  the parameters and BatchNorm statistics passed as arguments: one compilation per config and input shape."""
  def build():
    def run(variables, b):
      params, model_state = variables
      light = TrainState(step=0, params=params, opt_state=None, model_state=model_state)
      return _summaries(apply_fn(config, light, b), b)
    return run

  key = ("vqvae.encode", batching.fn_key(apply_fn), batching.config_key(config))
  run = batching.mesh_jit(key, build)
  return batching.map_on_mesh(run, (state.params, state.model_state), x, batch_size,
                              mesh=batching.state_mesh(state.params))


def _summaries(out, x):
  b = x.shape[0]
  return {"z_q": out["z_q"].reshape(b, -1), "idx": out["idx"].reshape(b, -1), "x_hat": out["x_hat"],
          "mse_time": jnp.mean((out["x_hat"] - x) ** 2, axis=(1, 2)),
          "mse_stft": jnp.mean((out["u_hat"] - out["u"]) ** 2, axis=(1, 2, 3))}


def evaluate_model(config, state, data, apply_fn) -> Report:
  t0 = time.perf_counter()
  e = config.eval
  tr = encode_all(apply_fn, config, state, data.train_x, e.batch_size)
  te = encode_all(apply_fn, config, state, data.test_x, e.batch_size)
  metrics = {"step": int(jax.device_get(state.step)), "dataset": data.name}
  metrics.update(probes.probe_metrics(tr["z_q"], data.train_y, te["z_q"], data.test_y,
                                      n_classes=data.num_classes, kmeans_repeats=e.kmeans_repeats,
                                      seed=config.seed))
  metrics.update(probes.code_usage(te["idx"], config.model.codebook_size))
  metrics["test_mse_time"] = float(te["mse_time"].mean())
  metrics["test_mse_stft"] = float(te["mse_stft"].mean())
  metrics["latent_dim"] = int(tr["z_q"].shape[1])
  figs = {"latents_test": figures.latent_scatter_figure(te["z_q"], data.test_y, tsne=e.tsne, seed=config.seed,
                                                        title=f"{data.name} test z_q")}
  n = min(e.num_recon_plots, len(data.test_x))
  if n:  # eval.num_recon_plots = 0: no reconstruction figure
    figs["reconstructions_test"] = figures.series_reconstructions_figure(data.test_x[:n], te["x_hat"][:n],
                                                                         data.test_y[:n])
  metrics["eval_seconds"] = round(time.perf_counter() - t0, 2)
  return Report(metrics=metrics, figures=figs)


def evaluate_vqvae(config, state, workdir: str) -> Report:
  del workdir  # the report is written by the caller
  return evaluate_model(config, state, vq_data.load_data(config), vq_model.eval_apply)


def evaluate_barlow(config, state, workdir: str) -> Report:
  del workdir
  return evaluate_model(config, state, vq_data.load_data(config), vq_model.eval_apply_barlow)


def latents_model(config, state, max_examples: int, apply_fn) -> list:
  """`decompjax compare`'s view: eval-mode z_q of the first max_examples train and test series, the class as a
  label (not a generative factor), the UCR train/test split as the probe split."""
  from decompjax.evaluation.latents import LatentSet
  data = vq_data.load_data(config)
  n = int(max_examples)
  tr = encode_all(apply_fn, config, state, data.train_x[:n], config.eval.batch_size)["z_q"]
  te = encode_all(apply_fn, config, state, data.test_x[:n], config.eval.batch_size)["z_q"]
  d = config.data
  return [LatentSet(name="z_q", dataset={"data": "ucr", "name": data.name, "standardize": bool(d.standardize),
                                         "nan_policy": d.nan_policy, "unit": "series"},
                    codes=np.concatenate([tr, te]),
                    ids=[f"train{i}" for i in range(len(tr))] + [f"test{i}" for i in range(len(te))],
                    labels={"class": np.concatenate([data.train_y[:n], data.test_y[:n]]).astype(np.int64)},
                    no_factors_reason="no factor labels (UCR: class labels only)",
                    train=np.arange(len(tr) + len(te)) < len(tr))]


def latents_vqvae(config, state, max_examples: int) -> list:
  return latents_model(config, state, max_examples, vq_model.eval_apply)


def latents_barlow(config, state, max_examples: int) -> list:
  return latents_model(config, state, max_examples, vq_model.eval_apply_barlow)
