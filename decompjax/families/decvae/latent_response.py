"""Latent-response ("traversal") matrices (spec §4.3): DecVAE has no decoder, so a traversal is the response of
mu to a controlled input set in which one factor varies at a time.

`response_matrix(mu, factor)` = the mean mu per level of the factor, [levels, d]; `explained_variance` = the
share of each dimension's variance that the factor's levels explain (eta^2), the number the heatmaps summarise.
`traversal_report` builds the SimVowels traversal tokens (`data.simvowels.traversal_set`: single 25 ms tokens on
the vocal-tract grid x 5 vowels), turns them into model inputs the way the data pipeline does
(`data.frames_example`), encodes them and reports, per Z subspace, the response to v (speaker) and to the vowel:
the matrices in metrics.json ('response': {subspace: {factor: levels, matrix, eta2}}), the mean eta^2 as
scalars 'response/<subspace>/<factor>/eta2_mean', and one heatmap per factor.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from decompjax.evaluation.report import Report

TOP_DIMS = 10  # dimensions shown per subspace: the original plots the 7 highest- and 3 lowest-variance ones


def response_matrix(mu: np.ndarray, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(levels [L] sorted, mean mu per level [L, d]) for mu [n, d] and factor values [n]."""
  mu, factor = np.asarray(mu, np.float64), np.asarray(factor)
  if mu.ndim != 2 or len(mu) != len(factor):
    raise ValueError(f"response_matrix needs mu [n, d] and factor [n], got {mu.shape} and {factor.shape}")
  levels, inverse = np.unique(factor, return_inverse=True)
  sums = np.zeros((len(levels), mu.shape[1]))
  np.add.at(sums, inverse, mu)
  return levels, sums / np.bincount(inverse)[:, None]


def explained_variance(mu: np.ndarray, factor: np.ndarray) -> np.ndarray:
  """eta^2 per dimension [d]: between-level variance / total variance (0 for a constant dimension)."""
  mu = np.asarray(mu, np.float64)
  levels, means = response_matrix(mu, factor)
  counts = np.unique(np.asarray(factor), return_counts=True)[1]
  between = (counts[:, None] * (means - mu.mean(0)) ** 2).sum(0) / len(mu)
  total = mu.var(0)
  return np.where(total > 1e-12, between / np.maximum(total, 1e-12), 0.0)


def shown_dims(matrix: np.ndarray, top: int = TOP_DIMS) -> np.ndarray:
  """The dimensions whose response varies most across levels (at most `top`), highest first."""
  return np.argsort(-matrix.var(0), kind="stable")[:top]


def responses(subspaces: Mapping[str, np.ndarray], factors: Mapping[str, np.ndarray]) -> dict:
  """{subspace: {factor: {'levels', 'matrix', 'eta2', 'eta2_mean'}}} (JSON-ready lists)."""
  out: dict = {}
  for name, mu in subspaces.items():
    out[name] = {}
    for fname, f in factors.items():
      levels, m = response_matrix(mu, f)
      eta = explained_variance(mu, f)
      out[name][fname] = {"levels": levels.tolist(), "matrix": m.tolist(), "eta2": eta.tolist(),
                          "eta2_mean": float(eta.mean())}
  return out


def response_figure(resp: Mapping, factor: str):
  """One heatmap per subspace: mean mu (z-scored per dimension) against the factor's levels, top dims."""
  import matplotlib.pyplot as plt
  names = list(resp)
  fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names) + 1, 3.2), squeeze=False,
                           layout="constrained")
  im = None
  for ax, name in zip(axes[0], names):
    r = resp[name][factor]
    m = np.asarray(r["matrix"])
    dims = shown_dims(m)
    shown = m[:, dims]
    shown = (shown - shown.mean(0)) / np.maximum(shown.std(0), 1e-12)
    im = ax.imshow(shown.T, aspect="auto", cmap="coolwarm", vmin=-2.5, vmax=2.5, interpolation="nearest")
    ax.set_title(f"{name}  eta²={r['eta2_mean']:.2f}", fontsize=8)
    levels = r["levels"]
    ticks = np.linspace(0, len(levels) - 1, min(5, len(levels))).astype(int)
    ax.set_xticks(ticks, [f"{levels[t]:.2f}" if isinstance(levels[t], float) else str(levels[t]) for t in ticks],
                  fontsize=6)
    ax.set_yticks(range(len(dims)), [str(d) for d in dims], fontsize=6)
    ax.set_xlabel(factor, fontsize=7)
  axes[0, 0].set_ylabel("latent dimension", fontsize=7)
  if im is not None:
    fig.colorbar(im, ax=list(axes[0]), label="mean mu (z-scored per dim)")
  return fig


def traversal_inputs(config) -> tuple[dict, dict, np.ndarray]:
  """(model inputs of the traversal tokens packed F per pseudo-utterance [U, F, ...], factors {'v', 'vowel'} per
  token, [n] bool: the token has a detected component). Every config.eval.traversal_step-th v of the grid."""
  from decompjax.data import simvowels
  from decompjax.families.decvae import data
  sv = config.data.get("simvowels", {})
  tv = simvowels.traversal_set("fixed_vowels", excitation=sv.get("excitation", "pulse"),
                               snr_db=float(sv.get("snr_db", 15.0)), seed=int(config.seed))
  keep = np.asarray(tv["speaker"]) % max(int(config.eval.traversal_step), 1) == 0
  batch = data.frames_example(config, np.asarray(tv["tokens"])[keep])
  n = int(keep.sum())
  valid = np.asarray(batch["frame_valid"]).reshape(-1)[:n] > 0
  return batch, {"v": np.round(np.asarray(tv["v"], np.float64)[keep], 4),
                 "vowel": np.asarray(tv["vowel"])[keep]}, valid


def traversal_report(config, encode_all: Callable) -> Report:
  """Encodes the SimVowels traversal tokens (encode_all(arrays) -> {'z': {name: [U, F, d]}}) and reports the
  response of every Z subspace to v and to the vowel (tokens without a detected component left out)."""
  batch, factors, valid = traversal_inputs(config)
  out = encode_all(batch)
  n = len(valid)
  z = out.get("z", {})
  order = sorted(z, key=lambda k: (k != "X", k == "OCs_proj", int(k[2:]) if k[2:].isdigit() else 0))  # X, OCk, proj
  subspaces = {k: np.asarray(z[k]).reshape(-1, np.asarray(z[k]).shape[-1])[:n][valid] for k in order}
  factors = {k: v[valid] for k, v in factors.items()}
  resp = responses(subspaces, factors)
  report = Report()
  report.metrics["response"] = resp
  report.metrics["response_tokens"] = int(valid.sum())
  for name, per in resp.items():
    for fname, r in per.items():
      report.metrics[f"response/{name}/{fname}/eta2_mean"] = r["eta2_mean"]
  if config.eval.figures and resp:
    for fname in factors:
      report.figures[f"latent_response_{fname}"] = response_figure(resp, fname)
  return report
