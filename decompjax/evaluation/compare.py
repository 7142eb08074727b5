"""Scoring runs side by side (`decompjax compare`): group latent sets by their data, score every set of a group on
the same examples with the same seeds, and lay the scores out as Markdown and CSV tables.

A group is one dataset identity (`LatentSet.dataset`: the data, its generating parameters and the row unit); sets
of different groups are never put in one table. Inside a group every set is cut to the example ids all of them
have, then to one seeded subsample of at most `max_points` of those ids, and the probe split is one split of those
ids (the data's own train/test split where the sets carry one, else a seeded 80/20 split). Per set:
  probes               logistic-regression accuracy of each label (`probe_<label>_acc`), chance beside it
  disentanglement      the metric suite (decompjax.metrics.suite) against the ground-truth factors, when the
                       data has some; FactorVAE / BetaVAE scores when the examples cover the whole factor grid;
                       DCI's importances from gradient-boosted trees (dci_trees of them; 100 = dlib's default)
  unsupervised         Gaussian total / Wasserstein correlation and mean pairwise MI of the codes (every set)
  family scores        what the family measured on the same examples (ConVAE-BSS: BSS Eval, dB)
A metric a set cannot have is blank, and its reason goes with it (`Row.missing`).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
from typing import Sequence

import numpy as np

from decompjax.evaluation.latents import LatentSet

PROBE_COLUMNS = ("probe_{}_acc", "probe_{}_chance")
DISENTANGLEMENT = ("mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness_test", "irs",
                   "modularity", "explicitness_test", "jemmig", "dcimig", "factor_vae_eval_accuracy",
                   "beta_vae_eval_accuracy")
UNSUPERVISED = ("gaussian_total_correlation_norm", "gaussian_wasserstein_correlation_norm", "mutual_info_score")
NO_GRID = "needs every factor combination among the shared examples"
NOT_FINITE = "not finite (a degenerate latent, e.g. a constant dimension)"


@dataclasses.dataclass
class Entry:
  """One latent set of one run, as compare received it."""
  run: str        # the run's label in tables (its workdir's name, made unique)
  family: str
  workdir: str
  latents: LatentSet


@dataclasses.dataclass
class Row:
  run: str
  family: str
  latent: str
  values: dict[str, float]
  missing: dict[str, str]   # column -> why it is blank
  audio: dict


@dataclasses.dataclass
class Group:
  key: str
  dataset: dict
  rows: list[Row]
  columns: list[str]
  num_examples: int      # shared examples scored
  notes: list[str]


def group_entries(entries: Sequence[Entry]) -> dict[str, list[Entry]]:
  """{dataset key: entries}, groups and members in the order they first appear."""
  out: dict[str, list[Entry]] = {}
  for e in entries:
    out.setdefault(e.latents.group_key(), []).append(e)
  return out


def shared_rows(entries: Sequence[Entry], max_points: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
  """Per entry, the row indices of the group's scored examples, in one common order (sorted ids): the ids every
  entry has, then a seeded subsample of at most max_points of them. -> (indices per entry, notes)."""
  id_sets = [set(e.latents.ids.tolist()) for e in entries]
  common = sorted(set.intersection(*id_sets))
  notes = []
  if any(len(s) != len(common) for s in id_sets):
    notes.append(f"runs differ in the examples they encoded; scored on the {len(common)} every run has")
  if len(common) > max_points:
    pick = np.sort(np.random.default_rng(seed).choice(len(common), max_points, replace=False))
    common = [common[i] for i in pick]
    notes.append(f"a seeded subsample (seed {seed}) of {max_points} shared examples")
  out = []
  for e in entries:
    where = {v: i for i, v in enumerate(e.latents.ids.tolist())}
    out.append(np.asarray([where[i] for i in common], np.int64))
  return out, notes


def probe_split(sets: Sequence[LatentSet], seed: int, train_fraction: float = 0.8) -> tuple[np.ndarray, str]:
  """[N] bool train mask shared by the aligned sets: their own split when every set carries the same one, else a
  seeded permutation's first train_fraction. -> (mask, description)."""
  n = len(sets[0].ids)
  given = [s.train for s in sets if s.train is not None]
  if given and len(given) == len(sets) and all(np.array_equal(g, given[0]) for g in given):
    return np.asarray(given[0], bool), "the data's own train/test split"
  mask = np.zeros(n, bool)
  mask[np.random.default_rng(seed).permutation(n)[:int(n * train_fraction)]] = True
  return mask, f"a seeded {int(train_fraction * 100)}/{100 - int(train_fraction * 100)} split (seed {seed})"


def _probe(codes: np.ndarray, y: np.ndarray, train: np.ndarray) -> tuple[float, float] | str:
  """(accuracy, chance) of a logistic regression trained on the train rows, scored on the rest; or why not."""
  from sklearn.linear_model import LogisticRegression
  from sklearn.preprocessing import StandardScaler
  test = ~train
  if not test.any() or not train.any():
    return "the probe split leaves no train or no test example"
  if len(np.unique(y[train])) < 2:
    return "one class in the probe's train split"
  scaler = StandardScaler().fit(codes[train])
  clf = LogisticRegression(max_iter=500).fit(scaler.transform(codes[train]), y[train])
  acc = float(clf.score(scaler.transform(codes[test]), y[test]))
  return acc, float(np.max(np.unique(y[test], return_counts=True)[1]) / test.sum())


# The suite's metrics (decompjax.metrics.suite.ALL_METRICS) -> the columns compare shows of each.
SUITE_COLUMNS = {"mig": ("mig",), "sap": ("sap",),
                 "dci": ("dci_disentanglement", "dci_completeness", "dci_informativeness_test"), "irs": ("irs",),
                 "modularity": ("modularity",), "explicitness": ("explicitness_test",), "jemmig": ("jemmig",),
                 "dcimig": ("dcimig",), "unsupervised": UNSUPERVISED, "factor_vae": ("factor_vae_eval_accuracy",),
                 "beta_vae": ("beta_vae_eval_accuracy",)}


def _suite(s: LatentSet, seed: int, sampler_points: int, dci_trees: int) -> tuple[dict, dict]:
  """The metric suite against the set's factors, one metric at a time (each has its own seed, so the values are
  those of one call with all of them), so that a metric that cannot run blanks only its columns."""
  from decompjax.metrics import sampling, suite
  factors = np.stack([np.asarray(s.labels[f]) for f in s.factors], axis=1)
  try:
    sampler = sampling.grid_sampler(s.codes, factors)
  except ValueError:
    sampler = None
  n = len(s.codes)
  values, missing = {}, {}
  for name, columns in SUITE_COLUMNS.items():
    if name in ("factor_vae", "beta_vae") and sampler is None:
      missing.update({c: NO_GRID for c in columns})
      continue
    try:
      out = suite.evaluate_all(s.codes, factors, discrete_factors=True, sampler=sampler, seed=seed, metrics=[name],
                               num_train=max(1, int(0.8 * n)), num_test=max(1, n - int(0.8 * n)),
                               sampler_num_train=sampler_points, sampler_num_eval=max(1, sampler_points // 2),
                               gbt_kwargs={"n_estimators": int(dci_trees)})
      values.update({c: out[c] for c in columns if c in out})
    except ValueError as e:  # e.g. DCIMIG with one factor, fewer examples than histogram bins
      missing.update({c: f"not computable here: {e}" for c in columns})
  return values, missing


def score_set(s: LatentSet, train: np.ndarray, *, seed: int, sampler_points: int,
              dci_trees: int = 100) -> tuple[dict, dict]:
  """All of compare's scores of one aligned set -> (values, missing reasons)."""
  from decompjax.metrics.unsupervised import unsupervised_metrics
  values: dict[str, float] = {}
  missing: dict[str, str] = {}
  for label in sorted(s.labels):
    got = _probe(s.codes, np.asarray(s.labels[label]), train)
    acc, chance = (PROBE_COLUMNS[0].format(label), PROBE_COLUMNS[1].format(label))
    if isinstance(got, str):
      missing[acc] = missing[chance] = got
    else:
      values[acc], values[chance] = got
  if s.factors:
    v, m = _suite(s, seed, sampler_points, dci_trees)
    values.update(v)
    missing.update(m)
  else:
    missing.update({k: s.no_factors_reason for k in DISENTANGLEMENT})
    try:
      u = unsupervised_metrics(s.codes)
      values.update({k: float(u[k]) for k in UNSUPERVISED if k in u})
    except ValueError as e:  # e.g. fewer examples than histogram bins
      missing.update({k: f"not computable here: {e}" for k in UNSUPERVISED})
  values.update(s.scores)
  for k, v in list(values.items()):
    if not math.isfinite(v):
      del values[k]
      missing[k] = NOT_FINITE
    else:
      missing.pop(k, None)
  return values, missing


def _ordered(columns: set[str]) -> list[str]:
  """Probes, then the suite in its order, then the unsupervised scores, then the rest (family scores) sorted."""
  probes = sorted(c for c in columns if c.startswith("probe_"))
  fixed = [c for c in DISENTANGLEMENT + UNSUPERVISED if c in columns]
  rest = sorted(columns - set(probes) - set(fixed))
  return probes + fixed + rest


def score_group(entries: Sequence[Entry], *, max_points: int = 2000, seed: int = 0, sampler_points: int = 1000,
                dci_trees: int = 100) -> Group:
  """Every entry of one data group scored on the same examples with the same seeds."""
  rows_of, notes = shared_rows(entries, max_points, seed)
  sets = [e.latents.take(r) for e, r in zip(entries, rows_of)]
  n = len(sets[0].ids)
  rows = []
  if n == 0:
    notes.append("the runs share no examples: nothing scored")
    rows = [Row(e.run, e.family, e.latents.name, {}, {}, e.latents.audio) for e in entries]
  else:
    train, how = probe_split(sets, seed)
    if any(s.labels for s in sets):
      notes.append(f"probes: logistic regression, {how}: {int(train.sum())} train / {int((~train).sum())} test")
    for e, s in zip(entries, sets):
      values, missing = score_set(s, train, seed=seed, sampler_points=sampler_points, dci_trees=dci_trees)
      rows.append(Row(e.run, e.family, s.name, values, missing, s.audio))
  columns = _ordered({c for r in rows for c in (*r.values, *r.missing)})
  for r, e in zip(rows, entries):  # a column another run of the group has and this one does not report
    for c in columns:
      if c not in r.values and c not in r.missing:
        r.missing[c] = f"not reported by {e.family}"
  return Group(entries[0].latents.group_key(), entries[0].latents.dataset, rows, columns, n, notes)


# --- tables ----------------------------------------------------------------------------------------------------

def describe(dataset: dict) -> str:
  """A one-line summary of a dataset identity: its name, unit and the rest as key=value."""
  rest = ", ".join(f"{k}={v}" for k, v in dataset.items() if k not in ("data", "unit"))
  return f"{dataset.get('data', '?')} (one row per {dataset.get('unit', 'example')}" + (f"; {rest})" if rest else ")")


def fmt(v: float) -> str:
  return f"{v:.3f}" if abs(v) < 1000 else f"{v:.4g}"


def footnotes(group: Group) -> dict[str, int]:
  """reason -> footnote number, in first-seen order over the table's cells."""
  out: dict[str, int] = {}
  for r in group.rows:
    for c in group.columns:
      if c in r.missing and r.missing[c] not in out:
        out[r.missing[c]] = len(out) + 1
  return out


def group_markdown(group: Group, index: int) -> str:
  notes = footnotes(group)
  head = ["run", "family", "latent"] + group.columns
  lines = [f"## Group {index}: {describe(group.dataset)}", "",
           f"{group.num_examples} shared examples. " + " ".join(n.rstrip(".") + "." for n in group.notes), "",
           "| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * len(group.columns)]
  for r in group.rows:
    cells = [fmt(r.values[c]) if c in r.values else f"—[{notes[r.missing[c]]}]" for c in group.columns]
    lines.append("| " + " | ".join([r.run, r.family, r.latent] + cells) + " |")
  lines += [""] + [f"[{k}] {reason}" for reason, k in notes.items()]
  return "\n".join(lines) + "\n"


def markdown(groups: Sequence[Group], title: str = "decompjax compare") -> str:
  parts = [f"# {title}", "",
           "Runs on different data are in different groups; a blank (—) cell gives its reason in the footnote "
           "under its table.", ""]
  parts += [group_markdown(g, i + 1) for i, g in enumerate(groups)]
  return "\n".join(parts)


def csv_text(groups: Sequence[Group]) -> str:
  """One row per (run, latent set) of every group; a blank cell's reason in the 'missing' column."""
  columns = []
  for g in groups:
    columns += [c for c in g.columns if c not in columns]
  buf = io.StringIO()
  w = csv.writer(buf)
  w.writerow(["group", "dataset", "run", "family", "latent", "num_examples", *columns, "missing"])
  for i, g in enumerate(groups):
    for r in g.rows:
      missing = "; ".join(f"{c}: {r.missing[c]}" for c in g.columns if c in r.missing)
      w.writerow([i + 1, describe(g.dataset), r.run, r.family, r.latent, g.num_examples,
                  *(repr(r.values[c]) if c in r.values else "" for c in columns), missing])
  return buf.getvalue()
