"""The SynTone benchmark: VAE, beta-VAE, beta-TCVAE and FactorVAE over seeds, scored in two protocols side by side.

Two training variants per model, each evaluated with eval.protocol='both':
  syntone_compat  the original's training, defects included: per-frame-normalised mel (amplitude invisible),
                  FactorVAE's discriminator-gradient leak, beta-TCVAE's stratified estimator as the original
                  computes it. Its `compat_*` scores (sampled z, swapped metric arguments, 10 bins) are the ones
                  comparable to the SynTone README table.
  corrected       fixed-scale log-mel (amplitude visible), no leak, the paper's stratified estimator; scored with
                  encoder means as codes and the ground-truth factors (full suite).
Hyperparameters as the original trainer.py (configs/syntone_*.py): 8 latents, Adam 1e-3, batch 64; beta-VAE beta=4,
beta-TCVAE alpha=1, beta=4, gamma=1, FactorVAE gamma=6 at twice the batch, all expressed per sample (divided by
the original's batch of 64, over which it summed the reconstruction; Adam trains the two forms alike).

Outputs in <workdir>: <variant>/<model>/seed<k>/ (checkpoints, eval/, sweep.gif), runs.csv (every run's scalars),
summary.csv (mean/std per model x variant x metric protocol), table.md and table.tex (the two-protocol table).
Finished runs are reused, so an interrupted benchmark resumes.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import time

import numpy as np

from decompjax import config_utils

log = logging.getLogger(__name__)

MODELS = ("vae", "beta_vae", "beta_tcvae", "factor_vae")
LABELS = {"vae": "VAE", "beta_vae": "β-VAE", "beta_tcvae": "β-TCVAE", "factor_vae": "FactorVAE"}
_LATEX_LABELS = {"vae": "VAE", "beta_vae": r"$\beta$-VAE", "beta_tcvae": r"$\beta$-TCVAE", "factor_vae": "FactorVAE"}
PRESET_FILES = {"vae": "syntone_vae.py", "beta_vae": "syntone_beta_vae.py", "beta_tcvae": "syntone_beta_tcvae.py",
                "factor_vae": "syntone_factor_vae.py"}
PRESETS = {"full": "", "demo": "demo", "smoke": "smoke"}
VARIANTS = ("syntone_compat", "corrected")

# Column label, key in the corrected protocol's results, key in the compat protocol's (None: the original's
# evaluator did not compute it).
COLUMNS = (("MIG", "mig", "compat_mig"), ("SAP", "sap", "compat_sap"),
           ("DCI-D", "dci_disentanglement", None), ("DCI-C", "dci_completeness", None),
           ("DCI-I", "dci_informativeness_test", None), ("JEMMIG", "jemmig", "compat_jemmig"),
           ("DCIMIG", "dcimig", "compat_dcimig"), ("Modularity", "modularity", "compat_modularity"),
           ("IRS", "irs", None), ("FactorVAE", "factor_vae_eval_accuracy", None))
EXTRA_KEYS = ("recon_mse", "probe_waveform_accuracy", "probe_frequency_accuracy", "probe_amplitude_accuracy")

# The SynTone README "Results" table (10 evaluation runs of one trained model each; 50 epochs on the 32k grid).
ORIGINAL_README = {
    "vae": {"MIG": 0.280, "SAP": 0.045, "DCIMIG": 0.005, "JEMMIG": 0.300, "Modularity": 0.651},
    "beta_vae": {"MIG": 0.184, "SAP": 0.035, "DCIMIG": 0.004, "JEMMIG": 0.201, "Modularity": 0.750},
    "beta_tcvae": {"MIG": 0.166, "SAP": 0.023, "DCIMIG": 0.005, "JEMMIG": 0.183, "Modularity": 0.747},
    "factor_vae": {"MIG": 0.118, "SAP": 0.035, "DCIMIG": 0.003, "JEMMIG": 0.126, "Modularity": 0.762},
}


def variant_overrides(model: str, variant: str) -> list[tuple[str, str]]:
  """Loss weights stay as the presets set them (the original's effective per-sample weights) in both variants."""
  if variant == "syntone_compat":
    out = [("audio.frontend", "syntone")]
    if model == "factor_vae":
      out.append(("loss.leak_disc_grad", "true"))
    if model == "beta_tcvae":
      out.append(("loss.estimator", "mss"))
  elif variant == "corrected":
    out = [("audio.frontend", "log_mel")]
    if model == "factor_vae":
      out.append(("loss.leak_disc_grad", "false"))
    if model == "beta_tcvae":
      out.append(("loss.estimator", "mss_paper"))
  else:
    raise ValueError(f"unknown benchmark variant {variant!r}; expected one of {VARIANTS}")
  return out




def model_config(model: str, variant: str, *, preset: str, seed: int, data_dir: str, steps: int | None = None,
                 extra: list[tuple[str, str]] | None = None):
  if model not in PRESET_FILES:
    raise ValueError(f"unknown benchmark model {model!r}; expected some of {MODELS}")
  if preset not in PRESETS:
    raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
  spec = config_utils.preset_path(PRESET_FILES[model]) + (f":{PRESETS[preset]}" if PRESETS[preset] else "")
  overrides = [("seed", str(seed)), ("data.dir", data_dir), ("eval.protocol", "both"), ("train.progress", "false")]
  overrides += variant_overrides(model, variant)
  if steps:
    overrides.append(("train.steps", str(steps)))
  return config_utils.build_config(spec, overrides + list(extra or []))


def run_dir(workdir: str, variant: str, model: str, seed: int) -> str:
  return os.path.join(workdir, variant, model, f"seed{seed}")


def run_one(config, workdir: str, *, gif: bool, title: str = "") -> dict:
  """Trains (or resumes) and evaluates one model; reuses a finished evaluation of the same step count."""
  from decompjax import registry, train
  metrics_path = os.path.join(workdir, "eval", "metrics.json")
  if os.path.isfile(metrics_path):
    with open(metrics_path) as f:
      done = json.load(f)
    if done.get("step") == config.train.steps and "compat_mig" in done and "mig" in done:
      log.info("reusing %s", metrics_path)
      return done
  t0 = time.perf_counter()
  config.train.eval_at_end = False  # evaluated below, timed separately
  state = train.train_and_evaluate(config, workdir)
  t1 = time.perf_counter()
  results = registry.get_family(config.model.family).evaluate(config, state, workdir)
  results["train_seconds"], results["eval_seconds"] = t1 - t0, time.perf_counter() - t1
  if gif:
    from decompjax.syntone import animate
    params = state.params["vae"] if "vae" in state.params else state.params
    path = animate.animate_sweep(config, params, os.path.join(workdir, "sweep.gif"),
                                 title=f"{title or config.model.family}, step {int(state.step)}")
    results["files"] = list(results.get("files", [])) + [os.path.relpath(path, workdir)]
  with open(metrics_path, "w") as f:
    json.dump(results, f, indent=2, sort_keys=True)
  return results


def _stats(values: list[float]) -> tuple[float, float]:
  arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
  if arr.size == 0:
    return float("nan"), float("nan")
  return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else float("nan")


def summarize(records: list[dict]) -> list[dict]:
  """records: {'model', 'variant', 'seed', 'results'} -> one row per (model, variant, metric protocol, column):
  mean and sample std (ddof=1) over seeds."""
  rows = []
  groups: dict[tuple[str, str], list[dict]] = {}
  for r in records:
    groups.setdefault((r["model"], r["variant"]), []).append(r["results"])
  for (model, variant), results in groups.items():
    for protocol in ("syntone_compat", "corrected"):
      for label, corrected_key, compat_key in COLUMNS:
        key = compat_key if protocol == "syntone_compat" else corrected_key
        if key is None:
          continue
        values = [res.get(key) for res in results]
        mean, std = _stats(values)
        rows.append(dict(model=model, variant=variant, protocol=protocol, metric=label, key=key, mean=mean, std=std,
                         n=sum(v is not None and np.isfinite(v) for v in values),
                         values=";".join(f"{v:.6g}" for v in values if v is not None)))
    for key in EXTRA_KEYS:
      values = [res.get(key) for res in results]
      mean, std = _stats(values)
      rows.append(dict(model=model, variant=variant, protocol="corrected", metric=key, key=key, mean=mean, std=std,
                       n=sum(v is not None and np.isfinite(v) for v in values),
                       values=";".join(f"{v:.6g}" for v in values if v is not None)))
  return rows


def _fmt(mean: float, std: float, latex: bool = False) -> str:
  if not np.isfinite(mean):
    return "--" if latex else "—"
  pm = r" $\pm$ " if latex else " ± "
  return f"{mean:.3f}" + (f"{pm}{std:.3f}" if np.isfinite(std) else "")


def table_rows(summary: list[dict], models: list[str]) -> list[tuple[str, str, list[tuple[float, float]]]]:
  """(model, shown protocol, [(mean, std) per column]) for the two-protocol table, plus the README reference rows.
  syntone_compat rows come from the models trained the original way, corrected rows from the corrected training."""
  index = {(r["model"], r["variant"], r["protocol"], r["metric"]): (r["mean"], r["std"]) for r in summary}
  out = []
  for model in models:
    ref = ORIGINAL_README.get(model, {})
    out.append((model, "SynTone README", [(ref.get(label, math.nan), math.nan) for label, _, _ in COLUMNS]))
    for protocol in VARIANTS:
      cells = [index.get((model, protocol, protocol, label), (math.nan, math.nan)) for label, _, _ in COLUMNS]
      out.append((model, protocol, cells))
  return out


def write_tables(out_dir: str, records: list[dict], models: list[str], header: str) -> dict[str, str]:
  os.makedirs(out_dir, exist_ok=True)
  summary = summarize(records)
  paths = {k: os.path.join(out_dir, f) for k, f in (("runs", "runs.csv"), ("summary", "summary.csv"),
                                                     ("markdown", "table.md"), ("latex", "table.tex"))}
  keys = sorted({k for r in records for k, v in r["results"].items() if isinstance(v, (int, float))})
  with open(paths["runs"], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["model", "variant", "seed"] + keys)
    for r in records:
      w.writerow([r["model"], r["variant"], r["seed"]] + [r["results"].get(k, "") for k in keys])
  with open(paths["summary"], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["model", "variant", "protocol", "metric", "key", "mean", "std", "n", "values"])
    w.writeheader()
    w.writerows(summary)

  rows = table_rows(summary, models)
  labels = [c[0] for c in COLUMNS]
  md = [header, "", "| model | protocol | " + " | ".join(labels) + " |", "|---|---|" + "---:|" * len(labels)]
  for model, protocol, cells in rows:
    md.append(f"| {LABELS[model]} | {protocol} | " + " | ".join(_fmt(m, s) for m, s in cells) + " |")
  md += ["", "syntone_compat: models trained as the original (per-frame-normalised mel), scored "
         "by the original evaluator (sampled z, swapped arguments, 10 bins); only MIG, SAP, JEMMIG, DCIMIG and "
         "modularity exist there. corrected: log-mel front end, encoder means vs ground-truth "
         "factors. The two protocols are not comparable with each other. SynTone README: the original's reported "
         "numbers (32k grid, 50 epochs)."]
  with open(paths["markdown"], "w") as f:
    f.write("\n".join(md) + "\n")

  tex = [r"% " + header.replace("\n", " "), r"\begin{tabular}{ll" + "r" * len(labels) + "}", r"\toprule",
         "model & protocol & " + " & ".join(labels) + r" \\", r"\midrule"]
  for model, protocol, cells in rows:
    tex.append(f"{_LATEX_LABELS[model]} & {protocol.replace('_', chr(92) + '_')} & "
               + " & ".join(_fmt(m, s, latex=True) for m, s in cells) + r" \\")
  tex += [r"\bottomrule", r"\end{tabular}"]
  with open(paths["latex"], "w") as f:
    f.write("\n".join(tex) + "\n")
  return paths


def run_benchmark(workdir: str, *, seeds: int = 3, preset: str = "full", steps: int | None = None,
                  models: list[str] | None = None, data_dir: str | None = None, gif: bool = True,
                  extra: list[tuple[str, str]] | None = None) -> dict:
  """Trains and evaluates every (variant, model, seed); writes the tables. Returns {'tables', 'records'}."""
  models = list(models or MODELS)
  unknown = sorted(set(models) - set(MODELS))
  if unknown:
    raise ValueError(f"unknown benchmark model(s) {unknown}; expected some of {list(MODELS)}")
  if seeds < 1:
    raise ValueError(f"--seeds must be >= 1, got {seeds}")
  workdir = os.path.abspath(workdir)
  data_dir = os.path.abspath(data_dir or os.path.join(workdir, "data"))
  records, configs = [], {}
  for variant in VARIANTS:
    for model in models:
      for seed in range(seeds):
        config = model_config(model, variant, preset=preset, seed=seed, data_dir=data_dir, steps=steps, extra=extra)
        configs[model] = config
        where = run_dir(workdir, variant, model, seed)
        log.info("benchmark: %s / %s / seed %d -> %s", variant, model, seed, where)
        results = run_one(config, where, gif=gif and seed == 0, title=f"{LABELS[model]} ({variant})")
        records.append(dict(model=model, variant=variant, seed=seed, results=results))
  g = configs[models[0]].data.grid
  batches = ", ".join(f"{LABELS[m]} {configs[m].train.batch_size}" for m in models)
  header = (f"SynTone benchmark, preset '{preset}': grid 4 x {g.num_freqs} x {g.num_amps} "
            f"({4 * g.num_freqs * g.num_amps} clips), {configs[models[0]].train.steps} steps per model "
            f"(batch: {batches}), {seeds} seed(s); mean ± std (ddof=1) over seeds.")
  return {"tables": write_tables(workdir, records, models, header), "records": records}
