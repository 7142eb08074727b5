"""Decomposition quality diagnostics (specs/decvae.md §1.2 "Quality outputs"): numbers as JSON, and figures.

- NRMSE per frame = rmse(frame - (components + remainder)) / (max - min of the frame): how well the method's full
  output (incl. EWT's dropped lowest mode) explains the frame; `nrmse_components` leaves the remainder out.
- |corr| correlogram: the mean absolute Pearson correlation between OC i and OC j over frames holding both.
- Centre frequencies (spectral centroids) per OC: summary statistics and a histogram.
"""
from __future__ import annotations

import json
import os

import numpy as np

from decompjax.evaluation import figures


def _nrmse(frames: np.ndarray, approx: np.ndarray) -> np.ndarray:
  span = frames.max(axis=-1) - frames.min(axis=-1)
  rmse = np.sqrt(np.mean((frames - approx) ** 2, axis=-1))
  return np.where(span > 0, rmse / np.where(span > 0, span, 1.0), 0.0)


def correlogram(components: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """[F, C, D], [F, C] -> [C, C] mean |corr| over frames where both OCs are present (NaN if none)."""
  x = components - components.mean(axis=-1, keepdims=True)
  norm = np.linalg.norm(x, axis=-1)
  unit = x / np.where(norm > 0, norm, 1.0)[..., None]
  corr = np.abs(np.einsum("fid,fjd->fij", unit, unit))
  both = (mask[:, :, None] & mask[:, None, :] & (norm[:, :, None] > 0) & (norm[:, None, :] > 0)).astype(float)
  count = both.sum(axis=0)
  with np.errstate(invalid="ignore"):
    return np.where(count > 0, (corr * both).sum(axis=0) / np.maximum(count, 1), np.nan)


def frame_quality(frames: np.ndarray, dec) -> dict:
  """JSON-able summary of a FrameDecomposition of `frames` [F, D] (statistics over usable frames)."""
  frames = np.asarray(frames, np.float64)
  ok = np.asarray(dec.frame_ok, bool)
  comps = np.asarray(dec.components, np.float64)
  full = _nrmse(frames, comps.sum(axis=1) + dec.remainder)[ok]
  part = _nrmse(frames, comps.sum(axis=1))[ok]
  cf = np.asarray(dec.centre_freqs, np.float64)

  def stats(v):
    v = v[np.isfinite(v)]
    if v.size == 0:
      return {"n": 0}
    return {"n": int(v.size), "mean": float(v.mean()), "median": float(np.median(v)), "max": float(v.max()),
            "p05": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95))}

  corr = correlogram(comps, np.asarray(dec.component_mask, bool))
  c = comps.shape[1]
  off = corr[~np.eye(c, dtype=bool)]
  return {
      "frames": int(len(frames)), "frames_ok": int(ok.sum()),
      "component_present_rate": [float(v) for v in np.asarray(dec.component_mask).mean(axis=0)],
      "nrmse": stats(full), "nrmse_components": stats(part),
      "abs_corr": [[None if np.isnan(v) else float(v) for v in row] for row in corr],
      "abs_corr_offdiag_mean": float(np.nanmean(off)) if off.size and np.isfinite(off).any() else None,
      "centre_freq_hz": {f"OC{k + 1}": stats(cf[:, k]) for k in range(c)},
  }


def correlogram_figure(summary: dict, title: str = ""):
  corr = np.array([[np.nan if v is None else v for v in row] for row in summary["abs_corr"]], float)
  c = len(corr)
  fig, ax = figures.plt.subplots(figsize=(3.2 + 0.3 * c, 2.8 + 0.3 * c))
  im = ax.imshow(corr, vmin=0, vmax=1, cmap="viridis")
  names = [f"OC{k + 1}" for k in range(c)]
  ax.set_xticks(range(c), names)
  ax.set_yticks(range(c), names)
  for i in range(c):
    for j in range(c):
      if np.isfinite(corr[i, j]):
        ax.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", color="w" if corr[i, j] < .6 else "k")
  fig.colorbar(im, ax=ax, label="mean |corr|")
  ax.set_title(title or "inter-component |corr|")
  return fig


def centre_freq_figure(dec, title: str = "", sample_rate: int = 16_000):
  cf = np.asarray(dec.centre_freqs, np.float64)
  fig, ax = figures.plt.subplots(figsize=(5, 3))
  bins = np.linspace(0, sample_rate / 2, 65)
  colours = figures.class_colours(cf.shape[1])
  for k in range(cf.shape[1]):
    v = cf[:, k][np.isfinite(cf[:, k])]
    ax.hist(v, bins=bins, alpha=0.6, color=colours[k], label=f"OC{k + 1} (n={v.size})")
  ax.set_xlabel("centre frequency (Hz)")
  ax.set_ylabel("frames")
  ax.legend(fontsize=7)
  ax.set_title(title or "component centre frequencies")
  return fig


def example_frame_figure(frames: np.ndarray, dec, index: int | None = None, sample_rate: int = 16_000,
                         title: str = ""):
  """One frame and its components (time, ms) stacked; index None = the first usable frame."""
  ok = np.flatnonzero(np.asarray(dec.frame_ok))
  i = int(ok[0] if index is None and ok.size else (index or 0))
  c = dec.components.shape[1]
  t = np.arange(frames.shape[1]) / sample_rate * 1000
  fig, axes = figures.plt.subplots(c + 1, 1, figsize=(6, 1.1 * (c + 1)), sharex=True)
  axes[0].plot(t, frames[i], lw=0.8, color="k")
  axes[0].set_ylabel("X", rotation=0, labelpad=12)
  for k in range(c):
    axes[k + 1].plot(t, dec.components[i, k], lw=0.8)
    freq = dec.centre_freqs[i, k]
    label = f"OC{k + 1}" + ("" if dec.component_mask[i, k] else " (missing)")
    axes[k + 1].set_ylabel(label, rotation=0, labelpad=20, fontsize=8)
    if np.isfinite(freq):
      axes[k + 1].text(1.0, 0.9, f"{freq:.0f} Hz", transform=axes[k + 1].transAxes, ha="right", va="top",
                       fontsize=7)
  axes[-1].set_xlabel("time (ms)")
  fig.suptitle(title or f"frame {i} and its components", fontsize=9)
  return fig


def quality_figures(frames: np.ndarray, dec, method: str, sample_rate: int = 16_000) -> dict:
  """{name: Figure}: correlogram, centre-frequency histogram and an example frame, titled with the method."""
  summary = frame_quality(frames, dec)
  return {f"{method}_correlogram": correlogram_figure(summary, f"{method}: inter-component |corr|"),
          f"{method}_centre_freqs": centre_freq_figure(dec, f"{method}: centre frequencies", sample_rate),
          f"{method}_example_frame": example_frame_figure(np.asarray(frames), dec, None, sample_rate,
                                                          f"{method}: an example frame")}


def write_quality(out_dir: str, frames: np.ndarray, dec, method: str, sample_rate: int = 16_000) -> list[str]:
  """Writes <method>_quality.json and the figures' PNGs under out_dir; returns the paths."""
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, f"{method}_quality.json")
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(frame_quality(frames, dec), f, indent=2)
  os.replace(tmp, path)
  written = [path]
  for name, fig in quality_figures(frames, dec, method, sample_rate).items():
    written.append(figures.save_figure(fig, os.path.join(out_dir, name + ".png")))
  return written
