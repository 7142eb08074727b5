"""`decompjax eval` for the SynTone VAE families: reconstruction error, disentanglement metrics, figures, audio.

Codes are encoder means (mu) and factors the ground truth (waveform, frequency index, amplitude index): the
corrected orientation. Returns a Report (evaluation.report writes eval/metrics.json, the PNG figures and the
Griffin-Lim WAVs); nothing here writes files.
"""
from __future__ import annotations

import jax
import numpy as np

from decompjax import input_pipeline
from decompjax.audio import griffin_lim
from decompjax.data.syntone import FACTOR_NAMES
from decompjax.errors import ConfigError
from decompjax.evaluation import batching, figures, probes
from decompjax.evaluation.report import EVAL_DIR, Report
from decompjax.families.syntone_vae import data, model as model_lib
from decompjax.metric_writer import read_metrics

PROTOCOLS = ("corrected", "syntone_compat", "both")


def vae_params(state):
  """The VAEDeep parameters of a state (FactorVAE keeps them under 'vae', next to the discriminator's)."""
  return state.params["vae"] if "vae" in state.params else state.params


def load_eval_examples(config) -> dict:
  """Validation split first, then train, up to config.eval.num_examples (the original scores all clips)."""
  parts, need = [], config.eval.num_examples
  for split in ("validation", "train"):
    if need <= 0:
      break
    got = input_pipeline.all_examples(data.make_dataset(config, split), need)
    parts.append(got)
    need -= len(got["index"])
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def reconstruction_errors(x: np.ndarray, x_hat: np.ndarray) -> dict[str, float]:
  """recon_mse, and beside it recon_mse_mean_image: what a decoder that ignores its input scores (the MSE of the
  evaluated clips' mean image)."""
  return {"recon_mse": float(np.mean((x_hat - x) ** 2)),
          "recon_mse_mean_image": float(np.mean((x - x.mean(axis=0)) ** 2))}


def encode_dataset(config, params, waveforms: np.ndarray, batch_size: int, mesh=None):
  """-> (inputs, mu, logvar, recon_from_mu) as numpy: one jitted function (parameters as arguments, compiled
  once per config), batches sharded over `mesh` (default: the mesh the parameters live on)."""
  def build():
    model = model_lib.make_model(config)

    def run(p, wave):
      x = model_lib.model_input(config, wave)
      mu, logvar = model.apply({"params": p}, x, method=model.encode)
      return x, mu, logvar, model.apply({"params": p}, mu, method=model.decode)
    return run

  run = batching.mesh_jit(("syntone_vae.encode", batching.config_key(config)), build)
  mesh = mesh or batching.state_mesh(params)
  return list(batching.map_on_mesh(run, params, waveforms, batch_size, mesh=mesh))


def decoder(config):
  """The jitted decode(params, z) of the config's model (parameters as an argument, compiled once)."""
  def build():
    model = model_lib.make_model(config)
    return lambda p, z: model.apply({"params": p}, z, method=model.decode)
  return batching.mesh_jit(("syntone_vae.decode", batching.config_key(config)), build)


def corrected_metrics(config, codes, factors) -> tuple[dict, dict]:
  """Default protocol: codes = encoder means, factors = ground-truth indices; the full metric suite, and the
  latent x factor MI and DCI importance heatmaps as {name: Figure}."""
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
  heatmaps = {"mi_matrix": plots.mi_matrix_figure(matrices["mutual_info_matrix"], factor_names=FACTOR_NAMES),
              "dci_importance": plots.importance_matrix_figure(matrices["dci_importance_matrix"],
                                                               factor_names=FACTOR_NAMES)}
  return results, heatmaps


def syntone_compat_metrics(config, mu, logvar, factor_values) -> dict:
  """The original evaluator, defects included: sampled z, swapped arguments, 10 bins, GT factor values
  (waveform index, Hz, amplitude). Only comparable to the SynTone README table when the model was trained
  on the original per-frame-normalised input (audio.frontend='syntone')."""
  from decompjax.metrics import syntone_compat
  z = syntone_compat.reparameterize(mu, logvar, seed=config.seed)
  out = syntone_compat.syntone_compat_suite(z, factor_values, seed=config.seed)
  return {f"compat_{k}": float(v) for k, v in out.items()}


def evaluate(config, state, workdir: str) -> Report:
  if config.eval.protocol not in PROTOCOLS:  # before any work
    raise ConfigError(f"eval.protocol={config.eval.protocol!r} is not 'corrected', 'syntone_compat' or 'both'")
  params = vae_params(state)
  examples = load_eval_examples(config)
  x, mu, logvar, x_hat = encode_dataset(config, params, examples["waveform"], config.eval.batch_size)
  factors = examples["factors"].astype(np.int64)

  report = Report(metrics={
      "step": int(state.step), "num_examples": int(len(x)),
      **reconstruction_errors(x, x_hat),
      "recon_sse_per_example": float(np.mean(np.sum((x_hat - x) ** 2, axis=(1, 2, 3)))),
      "kl_per_example": float(np.mean(-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)))})
  if config.eval.protocol in ("corrected", "both"):
    metrics, heatmaps = corrected_metrics(config, mu, factors)
    report.metrics.update(metrics)
    report.figures.update(heatmaps)
    report.metrics.update(probes.logistic_probe(mu, factors, FACTOR_NAMES,
                                                max_train=config.eval.metric_train_size, seed=config.seed))
  if config.eval.protocol in ("syntone_compat", "both"):
    report.metrics.update(syntone_compat_metrics(config, mu, logvar, examples["factor_values"]))

  add_figures_and_audio(report, config, params, x, x_hat, mu, examples, workdir)
  # The files evaluation.report writes for this report, relative to the workdir (as metrics.json always listed).
  report.metrics["files"] = ([f"{EVAL_DIR}/{name}.png" for name in report.figures]
                             + [f"{EVAL_DIR}/{name}.wav" for name in report.audio])
  return report


def figure_axes(config) -> figures.SpecAxes:
  """Seconds, Hz and the front end's colour scale for the mel panels (model inputs in [0, 1])."""
  spec = model_lib.mel_spec(config)
  if config.audio.frontend == "log_mel":
    label, db_range = "log-mel (dB re full-scale sine)", (spec.log_db_min, spec.log_db_max)
  else:  # 'syntone': linear mel power divided by its time frame's maximum
    label, db_range = "mel power / frame max (linear)", None
  return figures.mel_axes(spec.sample_rate, spec.hop_length, spec.n_mels, spec.fmin, spec.resolved_fmax, label,
                          db_range)


def add_figures_and_audio(report: Report, config, params, x, x_hat, mu, examples, workdir: str) -> None:
  """Reconstructions, a latent traversal, decoded prior samples, the loss curves (from the workdir's
  metrics.jsonl) and Griffin-Lim audio of a few inputs and their reconstructions."""
  spec_axes = figure_axes(config)
  mesh = batching.state_mesh(params)
  params = batching.replicate(params, mesh)
  decode_fn = decoder(config)

  def decode(z):
    return batching.call_on_mesh(decode_fn, mesh, params, batching.replicate(z, mesh))
  rng = np.random.default_rng(config.seed)
  show = rng.choice(len(x), size=min(8, len(x)), replace=False)
  fv = examples["factor_values"]
  titles = [f"w{int(fv[i, 0])} {fv[i, 1]:.0f}Hz a{fv[i, 2]:.2f}" for i in show]
  report.figures["reconstructions"] = figures.reconstructions_figure(x[show, ..., 0], x_hat[show, ..., 0], titles,
                                                                     spec_axes)

  # Traversal: every row starts again from the encoded sample (the original's grid accumulated changes).
  values = np.linspace(-config.eval.traversal_range, config.eval.traversal_range, 10)
  base = mu[show[0]]
  d = base.shape[0]
  zs = np.repeat(base[None, None], d, 0).repeat(len(values), 1)
  for i in range(d):
    zs[i, :, i] = values
  imgs = np.asarray(decode(zs.reshape(-1, d))).reshape(d, len(values), *x.shape[1:3])
  report.figures["traversal"] = figures.traversal_figure(imgs, values, spec_axes=spec_axes)

  z_prior = np.asarray(jax.random.normal(jax.random.key(config.seed), (16, d)))  # host copy: same on every process
  report.figures["prior_samples"] = figures.image_grid_figure(
      np.asarray(decode(z_prior))[..., 0], title="decoded prior samples z ~ N(0, I)", spec_axes=spec_axes)
  records = read_metrics(workdir)
  if records:
    report.figures["loss_curves"] = figures.loss_curves_figure(records)

  spec = model_lib.mel_spec(config)
  for k, i in enumerate(show[:config.eval.num_audio]):
    for tag, mel in (("input", x[i, ..., 0]), ("recon", x_hat[i, ..., 0])):
      audio = griffin_lim.mel_to_audio(mel, spec, mode=config.audio.frontend, n_iter=config.eval.griffin_lim_iters)
      report.audio[f"audio_{k}_{tag}"] = (audio, spec.sample_rate)


def latents(config, state, max_examples: int) -> list:
  """`decompjax compare`'s view: encoder means of up to max_examples clips (load_eval_examples' order), the
  ground-truth factor indices as factors, one input clip and its Griffin-Lim reconstruction for the page."""
  from decompjax.evaluation.latents import LatentSet, config_dict
  config = config.copy_and_resolve_references()
  config.eval.num_examples = int(max_examples)  # an existing field: allowed on a locked config
  examples = load_eval_examples(config)
  _, mu, _, x_hat = encode_dataset(config, vae_params(state), examples["waveform"], config.eval.batch_size)
  factors = examples["factors"].astype(np.int64)
  spec = model_lib.mel_spec(config)
  rate = int(config.data.grid.sample_rate)
  recon = griffin_lim.mel_to_audio(x_hat[0, ..., 0], spec, mode=config.audio.frontend,
                                   n_iter=config.eval.griffin_lim_iters)
  return [LatentSet(name="mu", dataset={"data": "syntone", "grid": config_dict(config.data.grid), "unit": "clip"},
                    codes=mu, ids=[f"clip{int(i)}" for i in np.asarray(examples["index"]).reshape(-1)],
                    labels={n: factors[:, k] for k, n in enumerate(FACTOR_NAMES)}, factors=tuple(FACTOR_NAMES),
                    audio={"input": (np.asarray(examples["waveform"][0], np.float32).reshape(-1), rate),
                           "reconstruction": (np.asarray(recon, np.float32), spec.sample_rate)})]
