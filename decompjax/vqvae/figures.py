"""Figures of a VQ-VAE run: PCA / t-SNE of the latents coloured by class, test reconstructions."""
from __future__ import annotations


import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

from decompjax.evaluation.figures import save_figure  # noqa: E402


def latent_scatter(features: np.ndarray, labels: np.ndarray, path: str, *, tsne: bool, seed: int = 0,
                   title: str = "") -> str:
  """PCA(2) (and t-SNE) of the flattened latents, one colour per class."""
  embeds = [("PCA", PCA(2, random_state=seed).fit_transform(features))]
  if tsne and len(features) > 5:
    perplexity = float(min(30, (len(features) - 1) / 3))
    embeds.append(("t-SNE", TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)))
  fig, axes = plt.subplots(1, len(embeds), figsize=(4.5 * len(embeds), 4), squeeze=False)
  for ax, (name, e) in zip(axes[0], embeds):
    sc = ax.scatter(e[:, 0], e[:, 1], c=labels, s=8, cmap="tab10" if labels.max() < 10 else "turbo")
    ax.set_title(f"{name} {title}".strip(), fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
  fig.colorbar(sc, ax=axes[0].tolist(), label="class")
  return save_figure(fig, path)


def reconstructions(x: np.ndarray, x_hat: np.ndarray, labels: np.ndarray, path: str) -> str:
  """Test series (channel 0) with their eval-mode reconstructions."""
  n = len(x)
  fig, axes = plt.subplots(n, 1, figsize=(7, 1.6 * n), squeeze=False)
  for i, ax in enumerate(axes[:, 0]):
    ax.plot(x[i, :, 0], lw=1, label="series")
    ax.plot(x_hat[i, :, 0], lw=1, label="reconstruction")
    ax.set_ylabel(f"class {labels[i]}", fontsize=7)
    ax.tick_params(labelsize=6)
  axes[0, 0].legend(fontsize=7, loc="upper right")
  return save_figure(fig, path)
