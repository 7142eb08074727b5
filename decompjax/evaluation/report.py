"""What an evaluation produces, and the one place that writes it.

A family's `evaluate(config, state, workdir)` computes and returns a `Report` (named scalars and other JSON
values, text tables, matplotlib figures, audio clips) and writes nothing itself; `write_report` writes it under
`<workdir>/eval/` once, on process 0 only: `metrics.json`, `<name>.png`, `<name>.wav`, and each table under its
own file name. Files are written to a temporary name and renamed (one upload on an object store), so a crash
never leaves half a metrics.json. The workdir may be local or gs:// (decompjax.fileio).
"""
from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import numpy as np

from decompjax import distributed, fileio

EVAL_DIR = "eval"


@dataclasses.dataclass
class Report:
  metrics: dict[str, Any] = dataclasses.field(default_factory=dict)          # -> eval/metrics.json
  tables: dict[str, str] = dataclasses.field(default_factory=dict)           # file name -> text (.md, .csv)
  figures: dict[str, Any] = dataclasses.field(default_factory=dict)          # name -> matplotlib Figure (.png)
  audio: dict[str, tuple[np.ndarray, int]] = dataclasses.field(default_factory=dict)  # name -> (mono wave, rate)
  arrays: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)    # name -> array (.npy)

  def merge(self, other: "Report", prefix: str = "") -> "Report":
    """Adds `other`'s entries (metric keys and file names prefixed with `prefix`)."""
    self.metrics.update({prefix + k: v for k, v in other.metrics.items()})
    self.tables.update({prefix + k: v for k, v in other.tables.items()})
    self.figures.update({prefix + k: v for k, v in other.figures.items()})
    self.audio.update({prefix + k: v for k, v in other.audio.items()})
    self.arrays.update({prefix + k: v for k, v in other.arrays.items()})
    return self

  def scalars(self) -> dict[str, float]:
    return {k: float(v) for k, v in self.metrics.items()
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)}


def eval_dir(workdir: str) -> str:
  return fileio.join(workdir, EVAL_DIR)


def _jsonable(value):
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, (np.integer,)):
    return int(value)
  if isinstance(value, (np.floating,)):
    return float(value)
  return value


def write_report(report: Report, workdir: str, *, process_index: int | None = None) -> list[str]:
  """Writes `report` under <workdir>/eval/ on the writer process (process 0; the others write nothing). Returns
  the paths written. process_index: which process this is (default: this process's)."""
  writer = distributed.is_writer() if process_index is None else process_index == 0
  if not writer:
    _close_figures(report)
    return []
  out = eval_dir(workdir)
  fileio.makedirs(out)
  written = []
  path = fileio.join(out, "metrics.json")
  fileio.write_text_atomic(path, json.dumps(_jsonable(report.metrics), indent=2, sort_keys=True) + "\n")
  written.append(path)
  for name, text in report.tables.items():
    path = fileio.join(out, name)
    fileio.write_text_atomic(path, text)
    written.append(path)
  for name, fig in report.figures.items():
    from decompjax.evaluation.figures import save_figure
    written.append(save_figure(fig, fileio.join(out, name + ".png")))
  for name, (wave, rate) in report.audio.items():
    from decompjax.audio import wav
    written.append(wav.write_wav(fileio.join(out, name + ".wav"), wave, rate))
  for name, array in report.arrays.items():
    path = fileio.join(out, name + ".npy")
    buf = io.BytesIO()
    np.save(buf, array)
    fileio.write_bytes_atomic(path, buf.getvalue())
    written.append(path)
  return written


def _close_figures(report: Report) -> None:
  import matplotlib.pyplot as plt
  for fig in report.figures.values():
    plt.close(fig)


def evaluate_and_write(family, config, state, workdir: str) -> dict:
  """Runs family.evaluate (on every process: it may compute over the whole mesh) and writes its Report under
  <workdir>/eval/ from process 0 only; returns the metrics (what metrics.json holds). Every process returns once
  the files are written, so none reads or ends before them."""
  report = family.evaluate(config, state, workdir)
  if not isinstance(report, Report):
    raise TypeError(f"{family.name}.evaluate returned {type(report).__name__}, not evaluation.report.Report")
  write_report(report, workdir)
  distributed.barrier("decompjax-eval-written")
  return dict(report.metrics)
