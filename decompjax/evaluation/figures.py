"""Figures researchers look at: reconstructions, latent traversals, prior samples, loss curves.

All functions take host numpy arrays and write a PNG (matplotlib, Agg backend); they return the path.
Spectrogram-like images are [H, W] (frequency up, time right).
"""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(fig, path: str) -> str:
  """Writes fig as a PNG at path (creating folders), closes it, returns path."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)
  return path


def _show(ax, img, title=None):
  ax.imshow(np.asarray(img), origin="lower", aspect="auto", cmap="magma", vmin=0.0, vmax=1.0)
  ax.set_xticks([])
  ax.set_yticks([])
  if title:
    ax.set_title(title, fontsize=7)


def reconstructions(inputs, recons, path: str, titles=None) -> str:
  """Inputs (top row) next to reconstructions (bottom row): [N, H, W] each."""
  n = len(inputs)
  fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.4), squeeze=False)
  for i in range(n):
    _show(axes[0, i], inputs[i], titles[i] if titles else None)
    _show(axes[1, i], recons[i])
  axes[0, 0].set_ylabel("input", fontsize=8)
  axes[1, 0].set_ylabel("reconstruction", fontsize=8)
  return save_figure(fig, path)


def traversal_grid(images, values, path: str, row_labels=None) -> str:
  """images [D, S, H, W]: row d varies latent d over `values` (S) around the same encoded sample."""
  d, s = images.shape[:2]
  fig, axes = plt.subplots(d, s, figsize=(1.1 * s, 1.1 * d), squeeze=False)
  for i in range(d):
    for j in range(s):
      _show(axes[i, j], images[i, j], f"{values[j]:+.1f}" if i == 0 else None)
    axes[i, 0].set_ylabel(row_labels[i] if row_labels else f"z{i}", fontsize=8)
  fig.suptitle("latent traversal (each row resets to the encoded sample)", fontsize=9)
  return save_figure(fig, path)


def image_grid(images, path: str, cols: int = 8, title: str | None = None) -> str:
  n = len(images)
  rows = int(np.ceil(n / cols))
  fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows), squeeze=False)
  for k in range(rows * cols):
    ax = axes[k // cols, k % cols]
    if k < n:
      _show(ax, images[k])
    else:
      ax.axis("off")
  if title:
    fig.suptitle(title, fontsize=9)
  return save_figure(fig, path)


def loss_curves(records: list[dict], path: str) -> str:
  """Plots every train/* and val/* scalar of metrics.jsonl records against step (one panel per name)."""
  names = sorted({k.split("/", 1)[1] for r in records for k in r if "/" in k and not k.endswith("examples_per_sec")})
  if not names:
    raise ValueError("no training metrics recorded yet (metrics.jsonl is empty)")
  cols = min(3, len(names))
  rows = int(np.ceil(len(names) / cols))
  fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
  for i, name in enumerate(names):
    ax = axes[i // cols, i % cols]
    for prefix in ("train", "val"):
      pts = [(r["step"], r[f"{prefix}/{name}"]) for r in records if f"{prefix}/{name}" in r]
      if pts:
        steps, vals = zip(*sorted(pts))
        ax.plot(steps, vals, label=prefix, marker="." if len(pts) < 20 else None)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("step", fontsize=8)
    if any(v > 0 for r in records for k, v in r.items() if k.endswith(name)) and name in ("loss", "recon"):
      ax.set_yscale("log")
    ax.legend(fontsize=7)
  for k in range(len(names), rows * cols):
    axes[k // cols, k % cols].axis("off")
  return save_figure(fig, path)
