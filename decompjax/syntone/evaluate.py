"""`decompjax eval` for the SynTone VAE families: reconstruction error, disentanglement metrics, figures, audio.

Codes are encoder means (mu) and factors the ground-truth (waveform, frequency index, amplitude index): the
corrected orientation. Writes <workdir>/eval/metrics.json, PNG figures and Griffin-Lim WAVs.
"""
from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from decompjax import input_pipeline
from decompjax.audio import griffin_lim, wav
from decompjax.evaluation import figures, probes
from decompjax.evaluation.batching import map_batches
from decompjax.metric_writer import read_metrics
from decompjax.syntone import common


def _load_eval_examples(config) -> dict:
  """Validation split first, then train, up to config.eval.num_examples (the original scores all clips)."""
  parts, need = [], config.eval.num_examples
  for split in ("validation", "train"):
    if need <= 0:
      break
    got = input_pipeline.all_examples(common.make_dataset(config, split), need)
    parts.append(got)
    need -= len(got["index"])
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def encode_dataset(config, params, waveforms: np.ndarray, batch_size: int):
  """-> (inputs, mu, logvar, recon_from_mu) as numpy, batched through one jitted function."""
  model = common.make_model(config)

  @jax.jit
  def run(wave):
    x = common.model_input(config, wave)
    mu, logvar = model.apply({"params": params}, x, method=model.encode)
    return x, mu, logvar, model.apply({"params": params}, mu, method=model.decode)

  return list(map_batches(run, waveforms, batch_size))


def corrected_metrics(config, codes, factors, out_dir) -> tuple[dict, list[str]]:
  """Default protocol: codes = encoder means, factors = ground-truth indices; the full metric suite plus
  latent x factor MI and DCI importance heatmaps."""
  from decompjax.metrics import plots, sampling, suite
  try:  # FactorVAE / BetaVAE scores need every factor combination among the evaluated clips
    sampler = sampling.grid_sampler(codes, factors)
  except ValueError:
    sampler = None
  matrices: dict = {}
  n = config.eval.metric_train_size
  results = suite.evaluate_all(codes, factors, discrete_factors=True, sampler=sampler, seed=config.seed,
                               num_train=n, num_test=max(n // 2, 1), sampler_num_train=n,
                               sampler_num_eval=max(n // 2, 1), matrices=matrices)
  files = [plots.plot_mi_matrix(matrices["mutual_info_matrix"], os.path.join(out_dir, "mi_matrix.png"),
                                factor_names=common.FACTOR_NAMES),
           plots.plot_importance_matrix(matrices["dci_importance_matrix"],
                                        os.path.join(out_dir, "dci_importance.png"),
                                        factor_names=common.FACTOR_NAMES)]
  return results, files


def syntone_compat_metrics(config, mu, logvar, factor_values) -> dict:
  """The original evaluator, defects included: sampled z, swapped arguments, 10 bins, GT factor values
  (waveform index, Hz, amplitude). Only comparable to the SynTone README table when the model was trained
  on the original per-frame-normalised input (audio.frontend='syntone')."""
  from decompjax.metrics import syntone_compat
  z = syntone_compat.reparameterize(mu, logvar, seed=config.seed)
  out = syntone_compat.syntone_compat_suite(z, factor_values, seed=config.seed)
  return {f"compat_{k}": float(v) for k, v in out.items()}


def evaluate(config, state, workdir: str) -> dict:
  out_dir = os.path.join(workdir, "eval")
  os.makedirs(out_dir, exist_ok=True)
  params = state.params["vae"] if "vae" in state.params else state.params
  data = _load_eval_examples(config)
  x, mu, logvar, x_hat = encode_dataset(config, params, data["waveform"], config.eval.batch_size)
  factors = data["factors"].astype(np.int64)

  results = {"step": int(state.step), "num_examples": int(len(x)),
             "recon_mse": float(np.mean((x_hat - x) ** 2)),
             "recon_sse_per_example": float(np.mean(np.sum((x_hat - x) ** 2, axis=(1, 2, 3)))),
             "kl_per_example": float(np.mean(-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)))}
  files = []
  if config.eval.protocol in ("corrected", "both"):
    metrics, heatmaps = corrected_metrics(config, mu, factors, out_dir)
    results.update(metrics)
    files += heatmaps
    results.update(probes.logistic_probe(mu, factors, common.FACTOR_NAMES, max_train=config.eval.metric_train_size,
                                         seed=config.seed))
  if config.eval.protocol in ("syntone_compat", "both"):
    results.update(syntone_compat_metrics(config, mu, logvar, data["factor_values"]))
  if config.eval.protocol not in ("corrected", "syntone_compat", "both"):
    raise ValueError(f"eval.protocol={config.eval.protocol!r} is not 'corrected', 'syntone_compat' or 'both'")

  files += write_figures(config, params, x, x_hat, mu, data, workdir, out_dir)
  results["files"] = [os.path.relpath(str(f), workdir) for f in files]
  with open(os.path.join(out_dir, "metrics.json"), "w") as f:
    json.dump(results, f, indent=2, sort_keys=True)
  return results


def figure_axes(config) -> figures.SpecAxes:
  """Seconds, Hz and the front end's colour scale for the mel panels (model inputs in [0, 1])."""
  spec = common.mel_spec(config)
  if config.audio.frontend == "log_mel":
    label, db_range = "log-mel (dB re full-scale sine)", (spec.log_db_min, spec.log_db_max)
  else:  # 'syntone': linear mel power divided by its time frame's maximum
    label, db_range = "mel power / frame max (linear)", None
  return figures.mel_axes(spec.sample_rate, spec.hop_length, spec.n_mels, spec.fmin, spec.resolved_fmax, label,
                          db_range)


def write_figures(config, params, x, x_hat, mu, data, workdir, out_dir) -> list[str]:
  model = common.make_model(config)
  spec_axes = figure_axes(config)
  decode = jax.jit(lambda z: model.apply({"params": params}, z, method=model.decode))
  rng = np.random.default_rng(config.seed)
  show = rng.choice(len(x), size=min(8, len(x)), replace=False)
  fv = data["factor_values"]
  titles = [f"w{int(fv[i, 0])} {fv[i, 1]:.0f}Hz a{fv[i, 2]:.2f}" for i in show]
  files = [figures.reconstructions(x[show, ..., 0], x_hat[show, ..., 0],
                                   os.path.join(out_dir, "reconstructions.png"), titles, spec_axes)]

  # Traversal: every row starts again from the encoded sample (the original's grid accumulated changes).
  values = np.linspace(-config.eval.traversal_range, config.eval.traversal_range, 10)
  base = mu[show[0]]
  d = base.shape[0]
  zs = np.repeat(base[None, None], d, 0).repeat(len(values), 1)
  for i in range(d):
    zs[i, :, i] = values
  imgs = np.asarray(decode(jnp.asarray(zs.reshape(-1, d)))).reshape(d, len(values), *x.shape[1:3])
  files.append(figures.traversal_grid(imgs, values, os.path.join(out_dir, "traversal.png"), spec_axes=spec_axes))

  z_prior = jax.random.normal(jax.random.key(config.seed), (16, d))
  files.append(figures.image_grid(np.asarray(decode(z_prior))[..., 0], os.path.join(out_dir, "prior_samples.png"),
                                  title="decoded prior samples z ~ N(0, I)", spec_axes=spec_axes))
  records = read_metrics(workdir)
  if records:
    files.append(figures.loss_curves(records, os.path.join(out_dir, "loss_curves.png")))

  spec = common.mel_spec(config)
  for k, i in enumerate(show[:config.eval.num_audio]):
    for tag, mel in (("input", x[i, ..., 0]), ("recon", x_hat[i, ..., 0])):
      audio = griffin_lim.mel_to_audio(mel, spec, mode=config.audio.frontend, n_iter=config.eval.griffin_lim_iters)
      files.append(wav.write_wav(os.path.join(out_dir, f"audio_{k}_{tag}.wav"), audio, spec.sample_rate))
  return files
