"""The one results-table writer of multi-run studies: per-run CSV, summary CSV, Markdown and LaTeX.

Every study writes the same four files:
  runs CSV     one row per run: its identifying fields and every numeric result, raw
  summary CSV  one row per (group, metric): mean, std, n and the values over the group's runs (seeds), raw
  Markdown     the study's display table, "mean ± std" cells
  LaTeX        the same table as a booktabs tabular
One spread convention everywhere: std is the SAMPLE standard deviation over seeds (ddof=1, `DDOF`); a group with
one finite value shows its mean alone (std NaN in the CSV). Non-finite or missing values are left out of the
statistics and counted out of n. The Markdown and LaTeX headers state this (`STD_NOTE`).
"""
from __future__ import annotations

import csv
import dataclasses
import math
import os
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

DDOF = 1
STD_NOTE = ("mean ± std over seeds: std is the sample standard deviation (ddof=1); "
            "a single seed shows the mean alone.")
MISSING = {"markdown": "—", "latex": "--"}
DECIMALS = 3
FILES = ("runs", "summary", "markdown", "latex")  # what write_tables writes, in this order


def _finite(values: Iterable[Any]) -> np.ndarray:
  out = [float(v) for v in values if _is_number(v) and math.isfinite(float(v))]
  return np.asarray(out, dtype=np.float64)


def _is_number(v) -> bool:
  return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def stats(values: Iterable[Any]) -> tuple[float, float, int]:
  """(mean, std with ddof=DDOF, n) over the finite numbers among `values`; std is NaN when n < 2."""
  arr = _finite(values)
  if arr.size == 0:
    return math.nan, math.nan, 0
  std = float(arr.std(ddof=DDOF)) if arr.size > DDOF else math.nan
  return float(arr.mean()), std, int(arr.size)


@dataclasses.dataclass(frozen=True)
class Metric:
  """One summarised quantity: `name` in the table, `key` in each run's results, `tags` further identifying fields
  of its summary row (SynTone: the evaluation protocol the key belongs to)."""
  name: str
  key: str
  tags: tuple[tuple[str, Any], ...] = ()


def summarize(records: Sequence[Mapping], group_by: Sequence[str], metrics: Sequence[Metric], *,
              group_info: Callable[[list[Mapping]], Mapping[str, Any]] | None = None) -> list[dict]:
  """records: {<identifying fields>, 'results': {key: number}} -> one row per (group, metric) with mean, std, n
  and the values, groups in the order they first appear (grid order). group_info(group's records) adds fields
  that are the same for the whole group (a gamma read back from the run, an archive's reference accuracy)."""
  groups: dict[tuple, list[Mapping]] = {}
  for r in records:
    groups.setdefault(tuple(r[f] for f in group_by), []).append(r)
  rows = []
  for key, members in groups.items():
    base = dict(zip(group_by, key))
    base.update(group_info(members) if group_info else {})
    for m in metrics:
      values = [r["results"].get(m.key) for r in members]
      mean, std, n = stats(values)
      rows.append({**base, **dict(m.tags), "metric": m.name, "key": m.key, "mean": mean, "std": std, "n": n,
                   "values": ";".join(f"{float(v):.6g}" for v in values if _is_number(v))})
  return rows


def index(summary: Sequence[Mapping], *fields: str) -> dict[tuple, "Stat"]:
  """summary rows -> {(row[f] for f in fields): Stat(mean, std)}, for building a display table."""
  return {tuple(r[f] for f in fields): Stat(r["mean"], r["std"]) for r in summary}


@dataclasses.dataclass(frozen=True)
class Stat:
  """A display cell: mean ± std (std NaN: the mean alone; mean NaN: missing)."""
  mean: float
  std: float = math.nan


@dataclasses.dataclass(frozen=True)
class Text:
  """A display cell shown verbatim, with its own LaTeX spelling when that differs (r'$\\beta$-VAE')."""
  plain: str
  latex: str | None = None


Cell = Stat | Text | str | float | int | None

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}"}


def latex_escape(text: str) -> str:
  return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def format_cell(cell: Cell, *, latex: bool = False) -> str:
  missing = MISSING["latex" if latex else "markdown"]
  if cell is None:
    return missing
  if isinstance(cell, Text):
    return cell.latex if latex and cell.latex is not None else (latex_escape(cell.plain) if latex else cell.plain)
  if isinstance(cell, str):
    return latex_escape(cell) if latex else cell
  if _is_number(cell):
    cell = Stat(float(cell))
  if not math.isfinite(cell.mean):
    return missing
  text = f"{cell.mean:.{DECIMALS}f}"
  if math.isfinite(cell.std):
    text += (r" $\pm$ " if latex else " ± ") + f"{cell.std:.{DECIMALS}f}"
  return text


@dataclasses.dataclass(frozen=True)
class Table:
  """A study's display table: `key_columns` leading text columns (left-aligned), then value columns."""
  header: str
  columns: Sequence[str]
  rows: Sequence[Sequence[Cell]]
  key_columns: int = 1
  notes: str = ""
  latex_columns: Sequence[str] | None = None  # column titles in LaTeX, when they need other spellings

  def markdown(self) -> str:
    lines = self.header.splitlines() + [STD_NOTE, ""]
    lines.append("| " + " | ".join(self.columns) + " |")
    lines.append("|" + "---|" * self.key_columns + "---:|" * (len(self.columns) - self.key_columns))
    lines += ["| " + " | ".join(format_cell(c) for c in row) + " |" for row in self.rows]
    if self.notes:
      lines += ["", self.notes]
    return "\n".join(lines) + "\n"

  def latex(self) -> str:
    titles = self.latex_columns or [latex_escape(c) for c in self.columns]
    lines = ["% " + line for line in self.header.splitlines() + [STD_NOTE]]
    lines += [r"\begin{tabular}{" + "l" * self.key_columns + "r" * (len(self.columns) - self.key_columns) + "}",
              r"\toprule", " & ".join(titles) + r" \\", r"\midrule"]
    lines += [" & ".join(format_cell(c, latex=True) for c in row) + r" \\" for row in self.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def numeric_keys(records: Sequence[Mapping]) -> list[str]:
  """Every key that holds a number in some run's results, sorted."""
  return sorted({k for r in records for k, v in r["results"].items() if _is_number(v)})


def write_runs_csv(path: str, records: Sequence[Mapping], key_fields: Sequence[str]) -> str:
  keys = numeric_keys(records)
  with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(list(key_fields) + keys)
    for r in records:
      w.writerow([r[k] for k in key_fields] + [r["results"].get(k, "") for k in keys])
  return path


def write_summary_csv(path: str, summary: Sequence[Mapping]) -> str:
  fields: list[str] = []
  for row in summary:
    fields += [k for k in row if k not in fields]
  with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(summary)
  return path


def write_tables(out_dir: str, *, records: Sequence[Mapping], key_fields: Sequence[str],
                 summary: Sequence[Mapping], table: Table, names: Mapping[str, str]) -> dict[str, str]:
  """Writes the four files named by `names` ({'runs', 'summary', 'markdown', 'latex'} -> file name) into
  `out_dir`; returns {role: path}."""
  missing = [role for role in FILES if role not in names]
  if missing:
    raise ValueError(f"write_tables: no file name for {missing}")
  os.makedirs(out_dir, exist_ok=True)
  paths = {role: os.path.join(out_dir, names[role]) for role in FILES}
  write_runs_csv(paths["runs"], records, key_fields)
  write_summary_csv(paths["summary"], summary)
  for role, text in (("markdown", table.markdown()), ("latex", table.latex())):
    with open(paths[role], "w", encoding="utf-8") as f:
      f.write(text)
  return paths
