"""Figures a person can read: labelled time/frequency axes and a colour scale on mel panels, a key with exactly
the classes present, loss-curve labels that do not overlap. Asserts on the matplotlib objects the builders return."""
import itertools

import matplotlib
import numpy as np
import pytest
from matplotlib.text import Text

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from decompjax.evaluation import few_shot as probe  # noqa: E402
from decompjax.evaluation import figures  # noqa: E402
from decompjax.families.autodecompose import augment  # noqa: E402
from decompjax.families.autodecompose import evaluate as ad_evaluate  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
  yield
  plt.close("all")


def _tick_labels(axis) -> list[Text]:
  """Visible, non-empty tick labels of ticks inside the view (matplotlib keeps labels of ticks outside it)."""
  lo, hi = sorted(axis.get_view_interval())
  out = []
  for locs, labels in ((axis.get_majorticklocs(), axis.get_majorticklabels()),
                       (axis.get_minorticklocs(), axis.get_minorticklabels())):
    out += [t for loc, t in zip(locs, labels) if lo <= loc <= hi and t.get_visible() and t.get_text().strip()]
  return out


def _owned_texts(fig) -> list[tuple[Text, object]]:
  """Every text a reader sees, with the axes it belongs to (None: the figure's own titles, labels, legends)."""
  owned = [(c, None) for c in fig.get_children() if isinstance(c, Text)] + [(t, None) for t in fig.texts]
  for lg in fig.legends:
    owned += [(t, None) for t in lg.get_texts()]
  for ax in fig.axes:
    if not ax.get_visible() or not ax.axison:
      continue
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()]
    texts += _tick_labels(ax.xaxis) + _tick_labels(ax.yaxis)
    if ax.get_legend():
      texts += ax.get_legend().get_texts()
    owned += [(t, ax) for t in texts]
  unique = {id(t): (t, ax) for t, ax in owned}  # a figure's suptitle is both a child and in fig.texts
  return [(t, ax) for t, ax in unique.values() if t.get_visible() and t.get_text().strip()]


def _drawn_texts(fig) -> list[Text]:
  return [t for t, _ in _owned_texts(fig)]


def _shared_area(a, b) -> bool:
  return min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1  # > 1 pixel each way


def _overlaps(fig) -> list[tuple[str, str]]:
  """Pairs of texts drawn over each other, and texts drawn over another panel's plotting area."""
  fig.canvas.draw()
  renderer = fig.canvas.get_renderer()
  owned = [(t.get_text(), t.get_window_extent(renderer), ax) for t, ax in _owned_texts(fig)]
  bad = [(a, b) for (a, ba, _), (b, bb, _) in itertools.combinations(owned, 2) if _shared_area(ba, bb)]
  panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
  bad += [(a, f"panel {other.get_title() or other.get_ylabel()!r}") for a, box, owner in owned for other in panels
          if other is not owner and _shared_area(box, other.get_window_extent(renderer))]
  return bad


def _records(with_val: bool):
  """metrics.jsonl of a short SynTone run: a narrow loss range (the old log axis crammed minor labels), a
  metric over one decade, one over eight, one that changes sign."""
  rng = np.random.default_rng(0)
  recs = []
  for step in range(1, 9):
    r = {"step": step, "train/grad_norm": 1010.0 - 5 * step, "train/kl": 0.004 * step,
         "train/loss": 1016.0 - step, "train/recon": 1016.0 - step - 0.01, "train/tc": float(rng.normal()),
         "train/disc_loss": 10.0 ** (4 - step), "train/examples_per_sec": 100.0}
    if with_val and step == 3:
      r.update({"val/loss": 1012.0, "val/recon": 1011.9, "val/kl": 0.05})
    recs.append(r)
  return recs


@pytest.mark.parametrize("with_val", [False, True])
def test_loss_curve_labels_do_not_overlap(with_val):
  fig = figures.loss_curves_figure(_records(with_val))
  assert _overlaps(fig) == []
  panels = [ax for ax in fig.axes if ax.lines]
  assert sorted(ax.get_title() for ax in panels) == ["disc_loss", "grad_norm", "kl", "loss", "recon", "tc"]
  assert all(ax.get_xlabel() == "step" for ax in panels)


def test_loss_curves_say_which_line_is_which_once_both_splits_exist():
  fig = figures.loss_curves_figure(_records(with_val=True))
  entries = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
  entries += [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
  assert sorted(set(entries)) == ["train", "val"]


def _colourbars(fig):
  return {m.colorbar for ax in fig.axes for m in ax.images + ax.collections if m.colorbar is not None}


def _assert_readable_spectrograms(fig, time_words, freq_words):
  """Tick labels on the outer panels, a time and a frequency axis label, one labelled colour scale."""
  fig.canvas.draw()
  panels = [ax for ax in fig.axes if ax.images]
  assert panels
  corner = min(panels, key=lambda ax: (ax.get_position().y0, ax.get_position().x0))
  assert _tick_labels(corner.xaxis) and _tick_labels(corner.yaxis)
  labels = " ".join(t.get_text() for t in _drawn_texts(fig))
  assert any(w in labels for w in time_words), labels
  assert any(w in labels for w in freq_words), labels
  bars = _colourbars(fig)
  assert len(bars) == 1
  assert next(iter(bars)).ax.get_ylabel().strip()
  assert _overlaps(fig) == []


def test_mel_panels_default_to_frames_and_mel_bins_with_a_colourbar():
  x = np.random.default_rng(0).random((4, 16, 12))
  _assert_readable_spectrograms(figures.reconstructions_figure(x, x[::-1]), ["frame"], ["mel bin"])
  _assert_readable_spectrograms(figures.traversal_figure(np.stack([x] * 3), np.linspace(-1, 1, 4)), ["frame"],
                                ["mel bin"])
  _assert_readable_spectrograms(figures.image_grid_figure(x, cols=2, title="prior"), ["frame"], ["mel bin"])


def test_mel_axes_label_seconds_hertz_and_decibels():
  spec_axes = figures.mel_axes(sample_rate=16000, hop=512, n_mels=16, fmin=0.0, fmax=8000.0,
                               value_label="log-mel (dB)", db_range=(-100.0, 0.0))
  assert len(spec_axes.bin_hz) == 16 and 0 < spec_axes.bin_hz[0] < spec_axes.bin_hz[-1] < 8000
  x = np.random.default_rng(0).random((3, 16, 32))
  fig = figures.reconstructions_figure(x, x, titles=["a", "b", "c"], spec_axes=spec_axes)
  _assert_readable_spectrograms(fig, ["time (s)"], ["frequency (Hz)"])
  corner = min((ax for ax in fig.axes if ax.images), key=lambda ax: (ax.get_position().y0, ax.get_position().x0))
  assert corner.get_xlim()[1] == pytest.approx(32 * 512 / 16000, rel=0.05)   # 32 frames of 32 ms
  bar = next(iter(_colourbars(fig)))
  fig.canvas.draw()
  db_labels = [t.get_text() for t in _tick_labels(bar.ax.yaxis)]
  assert (db_labels[0], db_labels[-1]) == ("\N{MINUS SIGN}100", "0")   # the dB range, not the 0-1 values


def test_mel_axes_must_match_the_image_height():
  spec_axes = figures.mel_axes(sample_rate=16000, hop=512, n_mels=8, fmin=0.0, fmax=8000.0, value_label="v")
  with pytest.raises(ValueError, match="8 mel bins"):
    figures.reconstructions_figure(np.zeros((1, 16, 4)), np.zeros((1, 16, 4)), spec_axes=spec_axes)


def _key_entries(fig):
  legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
  return [t.get_text() for lg in legends for t in lg.get_texts()]


def test_vqvae_scatter_key_has_exactly_the_classes_present():
  rng = np.random.default_rng(0)
  labels = np.repeat([0, 1], 20)
  fig = figures.latent_scatter_figure(rng.normal(size=(40, 6)) + labels[:, None], labels, tsne=True)
  assert _key_entries(fig) == ["class 0", "class 1"]
  assert not _colourbars(fig)                                  # no 10-bin colour bar for 2 classes


def test_vqvae_scatter_with_many_classes_gets_one_colour_bin_per_class():
  rng = np.random.default_rng(0)
  labels = np.repeat(np.arange(15), 4)
  fig = figures.latent_scatter_figure(rng.normal(size=(60, 6)), labels, tsne=False)
  bars = _colourbars(fig)
  assert len(bars) == 1
  bar = next(iter(bars))
  assert bar.cmap.N == 15
  fig.canvas.draw()
  assert [t.get_text() for t in _tick_labels(bar.ax.yaxis)] == [str(k) for k in range(15)]


def test_vqvae_reconstructions_label_time_and_value():
  x = np.random.default_rng(0).normal(size=(3, 50, 1))
  fig = figures.series_reconstructions_figure(x, x * 0.5, np.array([0, 1, 1]))
  bottom = min(fig.axes, key=lambda ax: ax.get_position().y0)
  assert bottom.get_xlabel() == "time step"
  assert all(ax.get_ylabel().startswith("class ") for ax in fig.axes)
  assert _overlaps(fig) == []


def test_speaker_scatter_has_one_key_entry_per_speaker():
  rng = np.random.default_rng(0)
  speaker = np.repeat([3, 7, 11], 10)
  emb = {"E_s": rng.normal(size=(30, 16)), "E_c": rng.normal(size=(30, 16))}
  fig = probe.speaker_scatter_figure(emb, speaker, seed=0)
  assert sorted(set(_key_entries(fig))) == ["speaker 11", "speaker 3", "speaker 7"]


def test_augmentation_panels_share_one_colour_scale_with_a_colourbar():
  mel = np.random.default_rng(0).random((64, 80)).astype(np.float32) * 0.5
  fig = ad_evaluate.augmentation_panels(mel, augment.from_preset("notebook"), seed=0)
  clims = {ax.images[0].get_clim() for ax in fig.axes if ax.images}
  assert len(clims) == 1                       # masked (zero) areas must not rescale one panel's colours
  assert len(_colourbars(fig)) == 1
  _assert_readable_spectrograms(fig, ["frame"], ["mel bin"])
