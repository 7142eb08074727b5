"""UCR / UEA classification archives from local files, imported as the original [TV]/[BT] importer does.

Layouts (looked up under `<root>/<name>/` and then `<root>/`):
  UCR 2018  <name>_TRAIN.tsv / <name>_TEST.tsv   tab-separated, label first, NaN right-padding
  UCR 2015  <name>_TRAIN     / <name>_TEST       comma-separated, label first
  sktime/UEA .ts  <name>_TRAIN.ts / <name>_TEST.ts  (univariate or multivariate, '?' = missing)
Import: label encoding fit on train (sorted unique labels, like sklearn's LabelEncoder) and applied to
test; one global scalar mean/std over the whole train matrix (NaN-aware) applied to both splits; NaN -> 0,
which turns the NaN padding of variable-length sets into zero right-padding; the official split.
Missing values (NaN, '?') inside a series, i.e. before its last value, are not padding: by default they are
an error naming the file and line; nan_policy='interpolate' fills them linearly (a leading gap takes the
first value) before standardising. Zero-filling them would silently invent a signal.
Series come out channels-last (N, L, C) float32. Ragged rows are padded to the longest series (train and
test share one length) and reported as variable length; timestamped .ts files are rejected.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import pathlib
import re

import numpy as np

from decompjax.errors import ConfigError, DataError, MissingInputError

# UCR 2015 folder names whose 2018 names differ only in case/underscores are matched by `_norm`.
_SPLITS = ("TRAIN", "TEST")
NAN_POLICIES = ("error", "interpolate")


@dataclasses.dataclass
class UCRData:
  name: str
  train_x: np.ndarray   # (N, L, C) float32
  train_y: np.ndarray   # (N,) int32
  test_x: np.ndarray
  test_y: np.ndarray
  classes: np.ndarray   # original labels, index = encoded label
  variable_length: bool
  source: str           # file layout that was read

  @property
  def length(self) -> int:
    return self.train_x.shape[1]

  @property
  def channels(self) -> int:
    return self.train_x.shape[2]

  @property
  def num_classes(self) -> int:
    return len(self.classes)


def _norm(name: str) -> str:
  return re.sub(r"[^a-z0-9]", "", name.lower())


def _candidates(root: pathlib.Path, name: str) -> list[pathlib.Path]:
  dirs = [root / name, root]
  if root.is_dir():  # 2018 names against 2015 folders (GunPoint -> Gun_Point) and vice versa
    dirs += [d for d in sorted(root.iterdir()) if d.is_dir() and _norm(d.name) == _norm(name) and d.name != name]
  return dirs


def find_files(root, name: str) -> tuple[dict[str, pathlib.Path], str]:
  """-> ({'TRAIN': path, 'TEST': path}, layout) or FileNotFoundError listing what was tried."""
  root = pathlib.Path(root)
  if not root.is_dir():
    raise MissingInputError(f"UCR directory {root} does not exist (config.data.ucr_dir)")
  tried = []
  for d in _candidates(root, name):
    stem = d.name if d != root and d.parent == root else name
    for layout, suffix in (("ucr2018", ".tsv"), ("ucr2015", ""), ("ts", ".ts"), ("ucr2015", ".txt")):
      paths = {s: d / f"{stem}_{s}{suffix}" for s in _SPLITS}
      tried.append(str(paths["TRAIN"]))
      if all(p.is_file() for p in paths.values()):
        return paths, layout
      if any(p.is_file() for p in paths.values()):
        missing = [str(p) for p in paths.values() if not p.is_file()]
        raise MissingInputError(f"UCR dataset {name!r}: found one split but not {missing}")
  raise MissingInputError(f"UCR dataset {name!r} not found under {root}; tried {tried[:6]}"
                          f"{' ...' if len(tried) > 6 else ''}")


def _interior_missing(series: np.ndarray) -> np.ndarray:
  """[L, C] mask of NaN before each channel's last value (trailing NaN pads a shorter series)."""
  nan = np.isnan(series)
  trailing = np.flip(np.cumprod(np.flip(nan, 0), 0), 0).astype(bool)
  return nan & ~trailing


def _fill_missing(series: np.ndarray, nan_policy: str, where: str) -> np.ndarray:
  """Applies `nan_policy` to the missing values inside one [L, C] series; trailing NaN is left as padding."""
  interior = _interior_missing(series)
  if not interior.any():
    return series
  if nan_policy == "error":
    positions = sorted(set((np.nonzero(interior)[0] + 1).tolist()))
    shown = f"{positions[:8]}{' ...' if len(positions) > 8 else ''}"
    raise DataError(f"{where}: {int(interior.sum())} missing value(s) (NaN or '?') inside the series at "
                    f"position(s) {shown} of {len(series)}; only trailing NaN (padding of a shorter series) is "
                    "allowed: fix the file, or load it with nan_policy='interpolate' to fill the gaps linearly")
  out = series.copy()
  steps = np.arange(len(series))
  for ch in np.flatnonzero(interior.any(0)):
    known = ~np.isnan(series[:, ch])
    gaps = interior[:, ch]
    out[gaps, ch] = np.interp(steps[gaps], steps[known], series[known, ch])
  return out


def _read_delimited(path: pathlib.Path, delimiter: str | None,
                    nan_policy: str) -> tuple[np.ndarray, list[np.ndarray]]:
  labels, rows = [], []
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      line = line.strip()
      if not line:
        continue
      parts = line.split(delimiter) if delimiter else line.split()
      try:
        values = np.array([float(v) if v.strip() not in ("", "?") else np.nan for v in parts], np.float64)
      except ValueError as e:
        raise DataError(f"{path}:{lineno}: not a numeric UCR row ({e})") from None
      if len(values) < 2:
        raise DataError(f"{path}:{lineno}: a row needs a label and at least one value")
      labels.append(values[0])
      rows.append(_fill_missing(values[1:, None], nan_policy, f"{path}:{lineno}"))
  if not rows:
    raise DataError(f"{path} holds no series")
  return np.asarray(labels), rows


def _read_ts(path: pathlib.Path, nan_policy: str) -> tuple[np.ndarray, list[np.ndarray]]:
  """sktime .ts: '@' header, then 'dim1:dim2:...:label' rows with comma-separated values."""
  header, labels, rows = {}, [], []
  in_data = False
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      line = line.strip()
      if not line or line.startswith("#"):
        continue
      if not in_data:
        if line.lower().startswith("@data"):
          if header.get("classlabel", "true").startswith("false"):
            raise DataError(f"{path}: .ts file without class labels (@classLabel false) cannot be used")
          in_data = True
        elif line.startswith("@"):
          key, _, value = line[1:].partition(" ")
          header[key.lower()] = value.strip().lower()
        continue
      if header.get("timestamps") == "true" or "(" in line:
        raise DataError(f"{path}: timestamped .ts series are not supported")
      *dims, label = line.split(":")
      if not dims:
        raise DataError(f"{path}:{lineno}: row has no series before the label")
      chans = [np.array([np.nan if v in ("?", "NaN", "") else float(v) for v in d.split(",")]) for d in dims]
      if rows and len(chans) != rows[0].shape[1]:
        raise DataError(f"{path}:{lineno}: {len(chans)} dimensions, but earlier rows have {rows[0].shape[1]}")
      length = max(len(c) for c in chans)
      series = np.stack([np.pad(c, (0, length - len(c)), constant_values=np.nan) for c in chans], -1)
      rows.append(_fill_missing(series, nan_policy, f"{path}:{lineno}"))
      labels.append(label.strip())
  if not rows:
    raise DataError(f"{path} holds no series (missing @data section?)")
  return np.asarray(labels), rows


def _pad(rows: list[np.ndarray], length: int) -> np.ndarray:
  return np.stack([np.pad(r, ((0, length - len(r)), (0, 0)), constant_values=np.nan) for r in rows])


def _sniff_delimiter(path: pathlib.Path) -> str | None:
  with open(path, encoding="utf-8") as f:
    first = f.readline()
  return "\t" if "\t" in first else "," if "," in first else None


@functools.lru_cache(maxsize=16)
def _load_cached(root: str, name: str, standardize: bool, nan_policy: str) -> UCRData:
  paths, layout = find_files(root, name)
  raw = {}
  for split, path in paths.items():
    raw[split] = (_read_ts(path, nan_policy) if layout == "ts"
                  else _read_delimited(path, _sniff_delimiter(path), nan_policy))
  chans = {r.shape[1] for _, rows in raw.values() for r in rows}
  if len(chans) != 1:
    raise DataError(f"UCR dataset {name!r}: train and test have different channel counts {sorted(chans)}")
  lengths = [len(r) for _, rows in raw.values() for r in rows]
  length = max(lengths)
  xs = {s: _pad(rows, length) for s, (_, rows) in raw.items()}
  # NaN tails (2018 padding) also count as variable length.
  ends = [np.max(np.nonzero(~np.isnan(r).all(-1))[0], initial=-1) + 1 for _, rows in raw.values() for r in rows]
  variable = len(set(lengths)) > 1 or min(ends) < length
  classes = np.unique(raw["TRAIN"][0])
  ys = {}
  for s, (labels, _) in raw.items():
    unseen = sorted(set(labels.tolist()) - set(classes.tolist()))
    if unseen:
      raise DataError(f"UCR dataset {name!r}: {s} labels {unseen[:5]} do not occur in TRAIN")
    ys[s] = np.searchsorted(classes, labels).astype(np.int32)
  if standardize:
    mean, std = np.nanmean(xs["TRAIN"]), np.nanstd(xs["TRAIN"])
    if not np.isfinite(std) or std == 0:
      raise DataError(f"UCR dataset {name!r}: train set has zero or undefined variance")
    xs = {s: (x - mean) / std for s, x in xs.items()}
  xs = {s: np.nan_to_num(x, nan=0.0).astype(np.float32) for s, x in xs.items()}
  return UCRData(name, xs["TRAIN"], ys["TRAIN"], xs["TEST"], ys["TEST"], classes, variable, layout)


def load_ucr(root, name: str, standardize: bool = True, nan_policy: str = "error") -> UCRData:
  """Loads one dataset (cached per process; the arrays are shared, do not modify them in place).

  nan_policy: what missing values inside a series become ('error' or 'interpolate'; see the module doc).
  """
  if not name:
    raise ConfigError("no UCR dataset name given (config.data.name)")
  if nan_policy not in NAN_POLICIES:
    raise ConfigError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
  return _load_cached(str(pathlib.Path(root).expanduser().resolve()), name, standardize, nan_policy)


def packaged_dir() -> pathlib.Path:
  """The tiny UCR set(s) shipped with the package (decompjax/resources/ucr)."""
  return pathlib.Path(__file__).resolve().parents[1] / "resources" / "ucr"


def resolve_dir(ucr_dir: str) -> pathlib.Path:
  return pathlib.Path(ucr_dir).expanduser() if ucr_dir else packaged_dir()


def make_dataset(data: UCRData, split: str, *, process_index: int = 0, process_count: int = 1):
  """Unbatched tf.data source of {'x': (L, C) float32, 'label': int32}; with several processes each takes a
  contiguous block of the split, the same size on every process (decompjax.data.host_share)."""
  import tensorflow as tf  # noqa: PLC0415 (only the data pipeline needs TF)
  from decompjax.data import host_share
  if split not in ("train", "test"):
    raise ValueError(f"UCR split must be 'train' or 'test', got {split!r}")
  x, y = (data.train_x, data.train_y) if split == "train" else (data.test_x, data.test_y)
  if len(x) < process_count:
    raise DataError(f"UCR dataset {data.name!r} split {split!r} has {len(x)} series, fewer than the "
                    f"{process_count} processes reading it")
  lo, hi = host_share.block(len(x), process_index, process_count)
  return tf.data.Dataset.from_tensor_slices({"x": x[lo:hi], "label": y[lo:hi]})


def summary_accuracies(summary_csv, name: str) -> dict[str, float]:
  """1-NN ED / DTW(learned w) / DTW(full) accuracies (1 - error) of `name` from UCR's DataSummary.csv."""
  path = pathlib.Path(summary_csv)
  if not path.is_file():
    return {}
  with open(path, encoding="utf-8-sig", newline="") as f:
    for row in csv.DictReader(f):
      row = {k.strip(): (v or "").strip() for k, v in row.items()}
      if _norm(row.get("Name", "")) != _norm(name):
        continue
      out = {}
      for key, col in (("1nn_ed", "ED (w=0)"), ("1nn_dtw_learned", "DTW (learned_w)"), ("1nn_dtw", "DTW (w=100)")):
        m = re.match(r"[0-9.]+", row.get(col, ""))
        if m:
          out[key] = round(1 - float(m.group()), 4)
      return out
  return {}
