"""The ConVAE-BSS fidelity study: SDR improvement of the mixture-consistent model over seeds, beside the bounds.

Grid (objective -> seed), every run through `experiments.runner` (resumable, reused when its config is
unchanged) on one generated synmix dataset shared by all runs (<workdir>/data):
  mixture_consistent  the corrected model (soft masks summing to 1 on the linear-magnitude mixture)
  compat              the report's design (averaged output, dB-domain mixture reconstruction, no source
                      targets): nothing identifies a branch with a source, so it should sit near 0 dB improvement
Each run's evaluation (families/convae_bss/evaluate.py) scores the same test tracks, also with the oracle IRM
(the ceiling) and the mixture as its own estimate (the floor, NSDR = 0 by definition). One table: NSDR (SDR
improvement over the mixture) and SI-SDRi mean ± std over seeds, with SDR/SIR/SAR, the training budget in its
header. Outputs in <workdir>: <objective>/seed<k>/ (checkpoints, eval/, result.json), runs.csv, summary.csv,
table.md, table.tex.
"""
from __future__ import annotations

import math
import os

from decompjax import config_utils
from decompjax.errors import UsageError
from decompjax.experiments import runner, tables

PRESET_FILE = "convae_bss_synmix.py"
OBJECTIVES = ("mixture_consistent", "compat")
PRESETS = ("smoke", "demo", "full")
LABELS = {"mixture_consistent": "ConVAE-BSS, mixture-consistent", "compat": "compat (the report's design)",
          "irm": "oracle IRM (ceiling)", "mixture": "mixture as estimate (floor)"}
FILE_NAMES = {"runs": "runs.csv", "summary": "summary.csv", "markdown": "table.md", "latex": "table.tex"}
KEY_FIELDS = ("objective", "seed")
# (column, key in the model's results); the IRM row reads "irm_" + key, the mixture row "mixture_" + key.
COLUMNS = (("NSDR (SDR impr.)", "nsdr"), ("SI-SDRi", "si_sdri"), ("SDR", "sdr"), ("SIR", "sir"), ("SAR", "sar"),
           ("NSDR voice", "nsdr_voice"), ("NSDR music", "nsdr_music"))


def preset_spec(objective: str, preset: str) -> tuple[str, list[tuple[str, str]]]:
  """('configs/convae_bss_synmix.py[:args]', overrides) of one objective at one preset size."""
  if objective not in OBJECTIVES:
    raise UsageError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
  if preset not in PRESETS:
    raise UsageError(f"unknown preset {preset!r}; expected one of {PRESETS}")
  args = [preset] if preset != "full" else []
  if objective == "compat":
    args.append("compat")
  spec = config_utils.preset_path(PRESET_FILE) + (":" + ",".join(args) if args else "")
  return spec, ([("model.objective", objective)] if objective != "compat" else [])


def run_spec(workdir: str, objective: str, seed: int, *, preset: str, data_dir: str, steps: int | None,
             extra: list[tuple[str, str]]) -> runner.RunSpec:
  spec, overrides = preset_spec(objective, preset)
  overrides += [("seed", str(seed)), ("data.cache_dir", data_dir), ("train.progress", "false")]
  if steps:
    overrides.append(("train.steps", str(steps)))
  return runner.RunSpec(key=(("objective", objective), ("seed", seed)), preset=spec,
                        overrides=tuple(overrides + list(extra)),
                        rundir=os.path.join(workdir, objective, f"seed{seed}"))


def metrics() -> list[tables.Metric]:
  out = []
  for _, key in COLUMNS:
    out += [tables.Metric(key, key), tables.Metric("irm_" + key, "irm_" + key),
            tables.Metric("mixture_" + key, "mixture_" + key)]
  return out + [tables.Metric("train_seconds", "train_seconds"), tables.Metric("swapped_tracks", "swapped_tracks")]


def table_rows(summary: list[dict], objectives: list[str]) -> list[list]:
  """One row per trained objective (mean ± std over its seeds), then the IRM and mixture bounds (from the
  mixture-consistent runs' evaluation of the same tracks; the same for every seed up to data generation)."""
  index = tables.index(summary, "objective", "metric")
  missing = tables.Stat(math.nan)
  rows = [[LABELS[o], *(index.get((o, key), missing) for _, key in COLUMNS)] for o in objectives]
  source = objectives[0]
  for bound in ("irm", "mixture"):
    rows.append([LABELS[bound], *(index.get((source, f"{bound}_{key}"), missing) for _, key in COLUMNS)])
  return rows


def budget(config, seconds: float) -> str:
  d = config.data
  return (f"{config.train.steps} steps × batch {config.train.batch_size} of {float(d.seconds):g} s crops at 16 kHz "
          f"({d.synmix.num_train} generated training mixtures), about {seconds:.0f} s of training per run "
          f"on this machine")


def run_study(workdir: str, *, seeds: int = 3, preset: str = "demo", steps: int | None = None,
              objectives: list[str] | None = None, data_dir: str | None = None,
              extra: list[tuple[str, str]] | None = None) -> dict:
  """Trains and evaluates every (objective, seed), writes the tables; -> {'tables': {role: path}, 'records'}."""
  objectives = list(objectives or OBJECTIVES)
  unknown = sorted(set(objectives) - set(OBJECTIVES))
  if unknown:
    raise UsageError(f"unknown objective(s) {unknown}; expected some of {list(OBJECTIVES)}")
  if seeds < 1:
    raise UsageError(f"--seeds must be >= 1, got {seeds}")
  workdir = os.path.abspath(workdir)
  data_dir = os.path.abspath(data_dir or os.path.join(workdir, "data"))
  extra = list(extra or [])

  def make(cell: dict) -> runner.RunSpec:
    return run_spec(workdir, cell["objective"], cell["seed"], preset=preset, data_dir=data_dir, steps=steps,
                    extra=extra)

  specs = runner.expand({"objective": objectives, "seed": range(seeds)}, make)
  results = runner.run_all(specs)
  records = [dict(**spec.fields(), results={**res["results"], "train_seconds": res["seconds"]["train"],
                                            "eval_seconds": res["seconds"]["eval"]})
             for spec, res in zip(specs, results)]
  summary = tables.summarize(records, ("objective",), metrics())
  config = specs[0].config()
  train_s = tables.stats(r["results"]["train_seconds"] for r in records if r["objective"] == objectives[0])[0]
  n_tracks = records[0]["results"].get("num_tracks", "?")
  header = (f"ConVAE-BSS on generated voice+music mixtures (synmix), preset '{preset}', {seeds} seed(s) per "
            f"objective, {n_tracks} test tracks; dB, medians over tracks.\n"
            f"Training budget: {budget(config, train_s)}.")
  notes = ("NSDR = SDR(estimate) - SDR(mixture as estimate), the SDR improvement; SI-SDRi likewise. BSS Eval "
           "sources with permutation matching (families/convae_bss/evaluate.py). compat reconstructs the mixture "
           "as the average of two branches in dB with no source targets, so nothing makes a branch a source: "
           "expect about 0 dB improvement. The bounds are computed on the same test tracks.")
  table = tables.Table(header=header, columns=["system", *(c for c, _ in COLUMNS)],
                       rows=table_rows(summary, objectives), notes=notes)
  paths = tables.write_tables(workdir, records=records, key_fields=KEY_FIELDS, summary=summary, table=table,
                              names=FILE_NAMES)
  return {"tables": paths, "records": records}
