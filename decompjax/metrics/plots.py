"""Heatmaps of a latent x factor MI matrix and of a DCI importance matrix (matplotlib, Agg backend).

`*_figure` builds and returns the Figure (an evaluation Report holds it; evaluation.report writes it); `plot_*`
writes it as a PNG and returns the path."""
from __future__ import annotations

import os
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: figures are only written to files
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=g-import-not-at-top
import numpy as np  # noqa: E402


def _heatmap(matrix: np.ndarray, title: str, cbar_label: str, factor_names: Optional[Sequence[str]],
             code_names: Optional[Sequence[str]]):
  matrix = np.asarray(matrix, dtype=np.float64)
  if matrix.ndim != 2:
    raise ValueError(f"heatmap expects a 2-D [codes, factors] matrix, got shape {matrix.shape}")
  d, k = matrix.shape
  factor_names = list(factor_names) if factor_names is not None else [f"y{j}" for j in range(k)]
  code_names = list(code_names) if code_names is not None else [f"z{i}" for i in range(d)]
  if len(factor_names) != k or len(code_names) != d:
    raise ValueError(f"got {len(code_names)} code names and {len(factor_names)} factor names for a {d}x{k} matrix")
  fig, ax = plt.subplots(figsize=(1.0 + 0.6 * k + 1.5, 1.0 + 0.35 * d + 0.5))
  im = ax.imshow(matrix, aspect="auto", cmap="viridis", vmin=0.0)
  ax.set_xticks(range(k), factor_names, rotation=45, ha="right")
  ax.set_yticks(range(d), code_names)
  ax.set_xlabel("factor")
  ax.set_ylabel("latent dimension")
  ax.set_title(title)
  if d * k <= 400:  # annotate small matrices only; large ones would be unreadable
    top = matrix.max() if matrix.size else 0.0
    for i in range(d):
      for j in range(k):
        ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7,
                color="black" if matrix[i, j] > 0.6 * top else "white")
  fig.colorbar(im, ax=ax, label=cbar_label)
  fig.tight_layout()
  return fig


def _save(fig, path: str) -> str:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def mi_matrix_figure(mi: np.ndarray, *, factor_names: Optional[Sequence[str]] = None,
                     code_names: Optional[Sequence[str]] = None, title: str = "Mutual information I(z_i; y_k)",
                     unit: str = "nats"):
  """A `[D, K]` latent x factor MI heatmap (e.g. `mig(...)['mutual_info_matrix']`) as a Figure."""
  return _heatmap(mi, title, f"MI ({unit})", factor_names, code_names)


def importance_matrix_figure(importance: np.ndarray, *, factor_names: Optional[Sequence[str]] = None,
                             code_names: Optional[Sequence[str]] = None, title: str = "DCI importance R_ik"):
  """A `[D, K]` DCI importance heatmap (`dci(...)['importance_matrix']`) as a Figure."""
  return _heatmap(importance, title, "importance", factor_names, code_names)


def plot_mi_matrix(mi: np.ndarray, path: str, **kwargs) -> str:
  """Saves mi_matrix_figure(mi, **kwargs) as a PNG; returns path."""
  return _save(mi_matrix_figure(mi, **kwargs), path)


def plot_importance_matrix(importance: np.ndarray, path: str, **kwargs) -> str:
  """Saves importance_matrix_figure(importance, **kwargs) as a PNG; returns path."""
  return _save(importance_matrix_figure(importance, **kwargs), path)
