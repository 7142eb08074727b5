"""Figures researchers look at: reconstructions, latent traversals, prior samples, loss curves.

Each `*_figure` function builds and returns a matplotlib Figure (tests inspect it); the function of the same
name without the suffix writes it as a PNG and returns the path. Spectrogram-like images are [H, W] (frequency
up, time right); `SpecAxes` says how to label their axes and colour scale.
"""
from __future__ import annotations

import dataclasses
import io
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib import ticker  # noqa: E402

from decompjax import fileio  # noqa: E402

# Up to this many classes get a legend; more get a colour bar with one bin per class (a legend would not fit).
MAX_LEGEND_CLASSES = 12


@dataclasses.dataclass(frozen=True)
class SpecAxes:
  """How to label [frequency, time] image panels.

  seconds_per_frame: None labels time in frames. bin_hz: centre frequency (Hz) of each image row; None labels
  rows as mel bins. value_label names the colour scale; db_range = (dB at vmin, dB at vmax) of a linear
  dB -> [vmin, vmax] map labels the colour bar's ticks in dB.
  """
  seconds_per_frame: float | None = None
  bin_hz: tuple[float, ...] | None = None
  value_label: str = "value (normalised, 0-1)"
  db_range: tuple[float, float] | None = None
  vmin: float = 0.0
  vmax: float = 1.0

  @property
  def time_label(self) -> str:
    return "time (s)" if self.seconds_per_frame else "frame"

  @property
  def freq_label(self) -> str:
    return "frequency (Hz)" if self.bin_hz else "mel bin"


def mel_axes(sample_rate: int, hop: int, n_mels: int, fmin: float, fmax: float, value_label: str,
             db_range: tuple[float, float] | None = None) -> SpecAxes:
  """SpecAxes of a Slaney-scale mel spectrogram (librosa.filters.mel): frames hop/sample_rate apart, rows
  labelled with their filter's centre frequency."""
  import librosa
  centres = librosa.mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax)[1:-1]  # filter i peaks at edge i + 1
  return SpecAxes(seconds_per_frame=hop / sample_rate, bin_hz=tuple(float(f) for f in centres),
                  value_label=value_label, db_range=db_range)


def save_figure(fig, path: str) -> str:
  """Writes fig as a PNG at path, local or gs:// (creating folders; one atomic write), closes it, returns path."""
  buf = io.BytesIO()
  try:
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
  finally:
    plt.close(fig)
  path = os.fspath(path)
  fileio.makedirs(os.path.dirname(fileio.absolute(path)))
  return fileio.write_bytes_atomic(path, buf.getvalue())


def _hz_ticks(bin_hz, max_ticks: int = 3) -> tuple[list[float], list[str]]:
  """Round frequencies (100 Hz, 1 kHz, ...) placed at their position among the mel rows, kept apart by at least
  a quarter of the axis so they stay legible on small panels."""
  centres = np.asarray(bin_hz)
  nice = [f for f in (50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000) if centres[0] <= f <= centres[-1]]
  locs, labels = [], []
  for f in nice:
    pos = float(np.interp(f, centres, np.arange(len(centres))))
    if not locs or pos - locs[-1] >= len(centres) / 4:
      locs.append(pos)
      labels.append(f"{f // 1000}k" if f >= 1000 else str(f))
  return locs[-max_ticks:], labels[-max_ticks:]


def _show(ax, img, spec_axes: SpecAxes, title=None):
  """Draws one [H, W] panel with time (x) and frequency (y) ticks; returns the AxesImage."""
  img = np.asarray(img)
  h, w = img.shape
  if spec_axes.bin_hz is not None and len(spec_axes.bin_hz) != h:
    raise ValueError(f"the figure's frequency axis has {len(spec_axes.bin_hz)} mel bins but the image has {h} rows")
  dt = spec_axes.seconds_per_frame or 1.0
  # Frame k is centred at k * dt (librosa's centred frames); row k at k.
  im = ax.imshow(img, origin="lower", aspect="auto", cmap="magma", vmin=spec_axes.vmin, vmax=spec_axes.vmax,
                 extent=(-0.5 * dt, (w - 0.5) * dt, -0.5, h - 0.5), interpolation="nearest")
  if spec_axes.bin_hz:
    ax.set_yticks(*_hz_ticks(spec_axes.bin_hz))
  else:
    ax.yaxis.set_major_locator(ticker.MaxNLocator(3, integer=True))
  ax.xaxis.set_major_locator(ticker.MaxNLocator(3, integer=not spec_axes.seconds_per_frame))
  ax.tick_params(labelsize=6, length=2, pad=1)
  if title:
    ax.set_title(title, fontsize=7)
  return im


def _label_grid(fig, axes, im, spec_axes: SpecAxes, row_labels=None) -> None:
  """Tick labels on the outer panels only, one time and one frequency label, one colour bar for all panels."""
  rows, cols = axes.shape
  for i in range(rows):
    for j in range(cols):
      axes[i, j].tick_params(labelbottom=i == rows - 1, labelleft=j == 0)
    if row_labels is not None:
      axes[i, 0].set_ylabel(row_labels[i], fontsize=8)
  fig.supxlabel(spec_axes.time_label, fontsize=8)
  fig.supylabel(spec_axes.freq_label, fontsize=8)
  bar = fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.9, aspect=max(10, 6 * rows), pad=0.02)
  bar.set_label(spec_axes.value_label, fontsize=8)
  bar.ax.tick_params(labelsize=7)
  if spec_axes.db_range is not None:  # ticks at round dB values, placed through the linear dB -> value map
    lo, hi = spec_axes.db_range
    db = [d for d in ticker.MaxNLocator(5).tick_values(lo, hi) if lo - 1e-9 <= d <= hi + 1e-9]
    values = [spec_axes.vmin + (d - lo) / (hi - lo) * (spec_axes.vmax - spec_axes.vmin) for d in db]
    bar.set_ticks(values, labels=[f"{d:g}".replace("-", "\N{MINUS SIGN}") for d in db])


def reconstructions(inputs, recons, path: str, titles=None, spec_axes: SpecAxes | None = None) -> str:
  return save_figure(reconstructions_figure(inputs, recons, titles, spec_axes), path)


def reconstructions_figure(inputs, recons, titles=None, spec_axes: SpecAxes | None = None):
  """Inputs (top row) next to reconstructions (bottom row): [N, H, W] each."""
  spec_axes = spec_axes or SpecAxes()
  n = len(inputs)
  fig, axes = plt.subplots(2, n, figsize=(1.6 * n + 1.2, 3.8), squeeze=False, layout="constrained")
  for i in range(n):
    im = _show(axes[0, i], inputs[i], spec_axes, titles[i] if titles else None)
    _show(axes[1, i], recons[i], spec_axes)
  _label_grid(fig, axes, im, spec_axes, ["input", "reconstruction"])
  return fig


def traversal_grid(images, values, path: str, row_labels=None, spec_axes: SpecAxes | None = None) -> str:
  return save_figure(traversal_figure(images, values, row_labels, spec_axes), path)


def traversal_figure(images, values, row_labels=None, spec_axes: SpecAxes | None = None):
  """images [D, S, H, W]: row d varies latent d over `values` (S) around the same encoded sample."""
  spec_axes = spec_axes or SpecAxes()
  d, s = images.shape[:2]
  fig, axes = plt.subplots(d, s, figsize=(1.1 * s + 1.4, 1.1 * d + 0.9), squeeze=False, layout="constrained")
  for i in range(d):
    for j in range(s):
      im = _show(axes[i, j], images[i, j], spec_axes, f"{values[j]:+.1f}" if i == 0 else None)
  _label_grid(fig, axes, im, spec_axes, row_labels or [f"z{i}" for i in range(d)])
  fig.suptitle("latent traversal (each row resets to the encoded sample; column = value of that latent)",
               fontsize=9)
  return fig


def image_grid(images, path: str, cols: int = 8, title: str | None = None,
               spec_axes: SpecAxes | None = None) -> str:
  return save_figure(image_grid_figure(images, cols, title, spec_axes), path)


def image_grid_figure(images, cols: int = 8, title: str | None = None, spec_axes: SpecAxes | None = None,
                      panel_titles=None, panel_size: float = 1.2):
  """[N, H, W] images in rows of `cols` panels sharing one colour scale."""
  spec_axes = spec_axes or SpecAxes()
  n = len(images)
  cols = min(cols, n)
  rows = int(np.ceil(n / cols))
  fig, axes = plt.subplots(rows, cols, figsize=(panel_size * cols + 1.4, panel_size * rows + 0.9), squeeze=False,
                           layout="constrained")
  for k in range(n):
    im = _show(axes[k // cols, k % cols], images[k], spec_axes, panel_titles[k] if panel_titles else None)
  _label_grid(fig, axes, im, spec_axes)
  for k in range(n, rows * cols):  # after _label_grid: an empty slot must not own the bottom row's tick labels
    axes[k // cols, k % cols].axis("off")
    axes[k // cols - 1, k % cols].tick_params(labelbottom=True)
  if title:
    fig.suptitle(title, fontsize=9)
  return fig


def loss_curves(records: list[dict], path: str) -> str:
  return save_figure(loss_curves_figure(records), path)


def _wants_log_scale(values) -> bool:
  """Log y only when the positive values span more than a decade (a narrow range gets crammed minor labels)."""
  v = np.asarray(values, dtype=np.float64)
  return bool(len(v) and (v > 0).all() and v.max() / v.min() > 10.0)


def loss_curves_figure(records: list[dict]):
  """Every train/* and val/* scalar of metrics.jsonl records against step, one panel per metric (train and
  val of a metric share its panel); one legend above the panels when both splits were logged."""
  names = sorted({k.split("/", 1)[1] for r in records for k in r if "/" in k and not k.endswith("examples_per_sec")})
  if not names:
    raise ValueError("no training metrics recorded yet (metrics.jsonl is empty)")
  prefixes = [p for p in ("train", "val") if any(k.startswith(p + "/") for r in records for k in r)]
  cols = min(3, len(names))
  rows = int(np.ceil(len(names) / cols))
  fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False, layout="constrained")
  handles = {}
  for i, name in enumerate(names):
    ax = axes[i // cols, i % cols]
    values = []
    for prefix in prefixes:
      pts = [(r["step"], r[f"{prefix}/{name}"]) for r in records if f"{prefix}/{name}" in r]
      if pts:
        steps, vals = zip(*sorted(pts))
        values += vals
        (line,) = ax.plot(steps, vals, label=prefix, color=f"C{prefixes.index(prefix)}",
                          marker="." if len(pts) < 20 else None)
        handles.setdefault(prefix, line)
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("step", fontsize=8)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(5, integer=True))
    if _wants_log_scale(values):
      ax.set_yscale("log")
      if np.log10(max(values) / min(values)) <= 2:  # within two decades label 1-2-5 steps, not one or two decades
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
      ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
      ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    else:
      ax.yaxis.set_major_locator(ticker.MaxNLocator(5))
      ax.yaxis.set_major_formatter(ticker.ScalarFormatter(useOffset=False))
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
  for k in range(len(names), rows * cols):
    axes[k // cols, k % cols].axis("off")
  if len(handles) > 1:
    fig.legend(list(handles.values()), list(handles), loc="outside upper center", ncols=len(handles), fontsize=9)
  else:
    fig.suptitle(f"{prefixes[0]} metrics (metrics.jsonl)", fontsize=10)
  return fig


def class_colours(n: int) -> list:
  """n distinguishable colours: tab10 / tab20 while they last, then evenly spaced turbo."""
  if n <= 10:
    return [plt.get_cmap("tab10")(k) for k in range(n)]
  if n <= 20:
    return [plt.get_cmap("tab20")(k) for k in range(n)]
  return [plt.get_cmap("turbo")(x) for x in np.linspace(0.05, 0.95, n)]


def class_scatter(fig, axes, points, labels, name: str = "class", size: float = 8, names=None) -> None:
  """Scatter of 2-D `points` (one [N, 2] array per axes) coloured by the classes present in `labels`, with a
  key holding exactly those classes: a legend for a few, a colour bar with one bin per class for many.
  names: optional sequence mapping a label to the text shown for it."""
  labels = np.asarray(labels)
  classes = np.unique(labels)
  shown = [str(names[c]) if names is not None else str(c) for c in classes]
  colours = class_colours(len(classes))
  code = np.searchsorted(classes, labels)
  for ax, xy in zip(axes, points):
    xy = np.asarray(xy)
    if len(classes) <= MAX_LEGEND_CLASSES:
      for k in range(len(classes)):
        ax.scatter(xy[code == k, 0], xy[code == k, 1], s=size, color=colours[k], label=f"{name} {shown[k]}")
    else:
      sc = ax.scatter(xy[:, 0], xy[:, 1], c=code, s=size, cmap=mcolors.ListedColormap(colours),
                      norm=mcolors.BoundaryNorm(np.arange(len(classes) + 1) - 0.5, len(classes)))
  if len(classes) <= MAX_LEGEND_CLASSES:
    handles, texts = axes[0].get_legend_handles_labels()
    fig.legend(handles, texts, loc="outside right center", fontsize=8, markerscale=1.5)
  else:
    step = int(np.ceil(len(classes) / 25))  # one bin per class; a label on every step-th so they stay legible
    bar = fig.colorbar(sc, ax=list(axes), label=name, ticks=np.arange(0, len(classes), step))
    bar.set_ticklabels(shown[::step])
    bar.ax.tick_params(labelsize=7)


def latent_scatter_figure(features: np.ndarray, labels: np.ndarray, *, tsne: bool, seed: int = 0, title: str = ""):
  """PCA(2) (and t-SNE) of flattened latents [N, D], one colour per class present, keyed by class."""
  from sklearn.decomposition import PCA  # noqa: PLC0415 (sklearn only for the figures that need it)
  from sklearn.manifold import TSNE  # noqa: PLC0415
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


def series_reconstructions_figure(x: np.ndarray, x_hat: np.ndarray, labels: np.ndarray):
  """Time series x [N, L, C] (channel 0) with their eval-mode reconstructions, one panel per series."""
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
