"""The few-shot identification protocol (Autodecompose's speaker probe, specs/autodecompose.md §5) on any
labelled crop vectors, its tables, and a 2-D scatter of the vectors.

For each seed and each class (speaker), the class's groups (utterances, files) are shuffled and about
`test_fraction` of its crops (whole groups, so no group is on both sides) are held out for testing; the labelled
pool is the rest, in shuffled-group order. For k seconds of labelled audio the first ceil(k / crop_seconds) crops
of the pool are used. A standardised logistic regression is trained on them and scored by macro-F1 on the
held-out crops; the same test set serves every k of a seed. Mean +- std over seeds. A class whose pool is too
small for k makes that (k, seed) cell missing (NaN), never silently smaller.

Inputs are pooled crop vectors: the caller decides how a crop's frames become one vector (Autodecompose
mean-pools its 64 x 128 embedding over the frames; the raw-mel baseline is pooled the same way).
"""
from __future__ import annotations

import csv
import io
import logging
import math
import os

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from decompjax.errors import DataError

log = logging.getLogger(__name__)

DEFAULT_SECONDS = (10, 15, 30, 60, 120)


def split_indices(speaker: np.ndarray, group: np.ndarray, seed: int, test_fraction: float):
  """-> (test indices, {speaker: labelled pool indices in order}); whole groups go to one side."""
  rng = np.random.default_rng(seed)
  test, pools = [], {}
  for s in np.unique(speaker):
    idx = np.flatnonzero(speaker == s)
    groups = rng.permutation(np.unique(group[idx]))
    order = np.concatenate([idx[group[idx] == g] for g in groups])
    if len(groups) >= 2:  # hold out whole utterances until test_fraction of the crops are held out
      sizes = np.array([np.sum(group[idx] == g) for g in groups])
      n_test_groups = int(np.clip(np.searchsorted(np.cumsum(sizes), test_fraction * len(idx)) + 1, 1,
                                  len(groups) - 1))
      n_test = int(sizes[:n_test_groups].sum())
    else:  # a single utterance: split its crops
      n_test = max(1, int(round(test_fraction * len(idx))))
    test.append(order[:n_test])
    pools[int(s)] = order[n_test:]
  return np.concatenate(test), pools


def few_shot_f1(features: dict[str, np.ndarray], speaker: np.ndarray, group: np.ndarray,
                seconds=DEFAULT_SECONDS, seeds: int = 5, test_fraction: float = 0.3, *,
                crop_seconds: float) -> list[dict]:
  """features: name -> [N, D] pooled crop vectors; crop_seconds: the audio one crop holds. -> rows {feature,
  seconds, crops_per_speaker, f1_mean, f1_std, runs} with F1 in percent."""
  speaker, group = np.asarray(speaker), np.asarray(group)
  if len(np.unique(speaker)) < 2:
    raise DataError("the speaker probe needs at least 2 speakers")
  scores = {(name, k): [] for name in features for k in seconds}
  for seed in range(seeds):
    test, pools = split_indices(speaker, group, seed, test_fraction)
    for k in seconds:
      n = math.ceil(k / crop_seconds)
      if any(len(p) < n for p in pools.values()):
        continue  # not enough labelled audio for this k: missing, not silently smaller
      train = np.concatenate([p[:n] for p in pools.values()])
      for name, x in features.items():
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        clf.fit(x[train], speaker[train])
        pred = clf.predict(x[test])
        scores[(name, k)].append(100.0 * f1_score(speaker[test], pred, average="macro"))
  rows = []
  for (name, k), vals in scores.items():
    rows.append({"feature": name, "seconds": k, "crops_per_speaker": math.ceil(k / crop_seconds),
                 "f1_mean": float(np.mean(vals)) if vals else float("nan"),
                 "f1_std": float(np.std(vals)) if vals else float("nan"), "runs": len(vals)})
  return rows


# ---------------------------------------------------------------------------------------------------- tables
def csv_table(rows: list[dict]) -> str:
  """The rows as CSV (one line per feature and k, raw numbers)."""
  out = io.StringIO()
  w = csv.DictWriter(out, fieldnames=list(rows[0]))
  w.writeheader()
  w.writerows(rows)
  return out.getvalue()


def markdown_table(rows: list[dict]) -> str:
  """Features x seconds, 'mean ± std' macro-F1 %, 'n/a' for a missing cell."""
  feats = list(dict.fromkeys(r["feature"] for r in rows))
  secs = list(dict.fromkeys(r["seconds"] for r in rows))
  cell = {(r["feature"], r["seconds"]): r for r in rows}
  lines = ["| features | " + " | ".join(f"{s} s" for s in secs) + " |",
           "|---|" + "---|" * len(secs)]
  for name in feats:
    vals = []
    for s in secs:
      r = cell[(name, s)]
      vals.append("n/a" if not r["runs"] else f"{r['f1_mean']:.1f} ± {r['f1_std']:.1f}")
    lines.append(f"| {name} | " + " | ".join(vals) + " |")
  return "\n".join(lines)


def tables(rows: list[dict], stem: str = "speaker_probe") -> dict[str, str]:
  """{<stem>.csv: csv_table, <stem>.md: markdown_table}: file name -> text (a Report's tables)."""
  return {f"{stem}.csv": csv_table(rows), f"{stem}.md": markdown_table(rows) + "\n"}


def write_table(rows: list[dict], out_dir: str, stem: str = "speaker_probe") -> tuple[str, str]:
  """Writes `tables(rows, stem)` into out_dir; -> (csv path, md path)."""
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for name, text in tables(rows, stem).items():
    paths.append(os.path.join(out_dir, name))
    with open(paths[-1], "w", newline="", encoding="utf-8") as f:
      f.write(text)
  return paths[0], paths[1]


# --------------------------------------------------------------------------------------------------- figure
# Below this many crops a t-SNE says nothing (its perplexity must stay under the point count): the figure
# falls back to a PCA scatter and says so.
MIN_TSNE_POINTS = 10
TSNE_PCA_WIDTH = 30  # t-SNE runs on at most this many PCA components (its cost grows with the input width)


def tsne_figure(embeddings: dict[str, np.ndarray], speaker: np.ndarray, path: str, max_points: int = 600,
                seed: int = 0, names=None) -> str:
  """Writes `speaker_scatter_figure` as a PNG at path; returns path."""
  from decompjax.evaluation.figures import save_figure
  return save_figure(speaker_scatter_figure(embeddings, speaker, max_points, seed, names), path)


def _project_2d(x: np.ndarray, seed: int) -> tuple[str, np.ndarray]:
  """-> (method, [n, 2]): t-SNE of the standardised vectors, or PCA when there are too few for a t-SNE."""
  from sklearn.decomposition import PCA
  from sklearn.manifold import TSNE
  n, d = x.shape
  xs = StandardScaler().fit_transform(x)
  if n < MIN_TSNE_POINTS:
    y = PCA(min(2, n, d), random_state=seed).fit_transform(xs)
    return "PCA", np.pad(y, ((0, 0), (0, 2 - y.shape[1])))  # 1-D inputs: plot on a line
  if d > TSNE_PCA_WIDTH:
    xs = PCA(min(TSNE_PCA_WIDTH, n), random_state=seed).fit_transform(xs)
  perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))  # sklearn needs perplexity < n
  return "t-SNE", TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=500,
                       random_state=seed).fit_transform(xs)


def speaker_scatter_figure(embeddings: dict[str, np.ndarray], speaker: np.ndarray, max_points: int = 600,
                           seed: int = 0, names=None):
  """Side-by-side t-SNE (PCA under MIN_TSNE_POINTS crops) of pooled embeddings (e.g. E_s and E_c), one colour
  per speaker (names[id] in the key when given). Returns the matplotlib Figure."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  from decompjax.evaluation.figures import class_scatter
  speaker = np.asarray(speaker)
  rng = np.random.default_rng(seed)
  n = len(speaker)
  pick = np.sort(rng.choice(n, min(n, max_points), replace=False))
  if len(pick) < MIN_TSNE_POINTS:
    log.info("speaker probe figure: %d crops are too few for a t-SNE (needs %d); drawing a PCA scatter instead",
             len(pick), MIN_TSNE_POINTS)
  fig, axes = plt.subplots(1, len(embeddings), figsize=(5 * len(embeddings) + 1.2, 4.5), squeeze=False,
                           layout="constrained")
  points = []
  for ax, (name, x) in zip(axes[0], embeddings.items()):
    method, y = _project_2d(np.asarray(x)[pick], seed)
    points.append(y)
    note = "too few for a t-SNE" if method == "PCA" else "colour = speaker"
    ax.set_title(f"{method} of {name}, {len(pick)} crops ({note})", fontsize=10)
    ax.set_xticks([])  # projection coordinates have no units worth reading
    ax.set_yticks([])
  class_scatter(fig, axes[0].tolist(), points, speaker[pick], name="speaker", size=8, names=names)
  return fig
