"""Figures of a VQ-VAE run: PCA / t-SNE of the latents coloured by class, test reconstructions.

Each `*_figure` function returns the matplotlib Figure; the function without the suffix writes it as a PNG.
"""
from __future__ import annotations


import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

from decompjax.evaluation.figures import class_scatter, save_figure  # noqa: E402


def latent_scatter(features: np.ndarray, labels: np.ndarray, path: str, *, tsne: bool, seed: int = 0,
                   title: str = "") -> str:
  return save_figure(latent_scatter_figure(features, labels, tsne=tsne, seed=seed, title=title), path)


def latent_scatter_figure(features: np.ndarray, labels: np.ndarray, *, tsne: bool, seed: int = 0, title: str = ""):
  """PCA(2) (and t-SNE) of the flattened latents, one colour per class present, keyed by class."""
  embeds = [("PCA", PCA(2, random_state=seed).fit_transform(features))]
  if tsne and len(features) > 5:
    perplexity = float(min(30, (len(features) - 1) / 3))
    embeds.append(("t-SNE", TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)))
  fig, axes = plt.subplots(1, len(embeds), figsize=(4.5 * len(embeds) + 1.2, 4), squeeze=False,
                           layout="constrained")
  for ax, (name, _) in zip(axes[0], embeds):
    ax.set_title(f"{name} {title}".strip(), fontsize=9)
    ax.set_xticks([])  # projection coordinates have no units worth reading
    ax.set_yticks([])
  class_scatter(fig, axes[0].tolist(), [e for _, e in embeds], labels, name="class")
  return fig


def reconstructions(x: np.ndarray, x_hat: np.ndarray, labels: np.ndarray, path: str) -> str:
  return save_figure(reconstructions_figure(x, x_hat, labels), path)


def reconstructions_figure(x: np.ndarray, x_hat: np.ndarray, labels: np.ndarray):
  """Test series (channel 0) with their eval-mode reconstructions."""
  n = len(x)
  fig, axes = plt.subplots(n, 1, figsize=(7, 1.6 * n + 0.4), squeeze=False, sharex=True, layout="constrained")
  for i, ax in enumerate(axes[:, 0]):
    ax.plot(x[i, :, 0], lw=1, label="test series (channel 0, as fed to the model)")
    ax.plot(x_hat[i, :, 0], lw=1, label="eval-mode reconstruction")
    ax.set_ylabel(f"class {labels[i]}", fontsize=7)
    ax.tick_params(labelsize=6)
  axes[-1, 0].set_xlabel("time step", fontsize=8)
  handles, texts = axes[0, 0].get_legend_handles_labels()
  fig.legend(handles, texts, loc="outside upper center", ncols=2, fontsize=7)
  return fig
