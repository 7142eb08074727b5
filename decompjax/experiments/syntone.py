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

Runs go through `experiments.runner` (grid variant -> model -> seed; each run resumable, reused when its config
is unchanged); the tables through `experiments.tables` (mean ± sample std, ddof=1). Outputs in <workdir>:
<variant>/<model>/seed<k>/ (checkpoints, eval/, result.json, sweep.gif for seed 0), runs.csv (every run's
scalars), summary.csv (mean/std/n per model x variant x metric protocol), table.md and table.tex.
"""
from __future__ import annotations

import math
import os

from decompjax import config_utils
from decompjax.errors import UsageError
from decompjax.experiments import runner, tables

MODELS = ("vae", "beta_vae", "beta_tcvae", "factor_vae")
LABELS = {"vae": "VAE", "beta_vae": "β-VAE", "beta_tcvae": "β-TCVAE", "factor_vae": "FactorVAE"}
_LATEX_LABELS = {"vae": "VAE", "beta_vae": r"$\beta$-VAE", "beta_tcvae": r"$\beta$-TCVAE", "factor_vae": "FactorVAE"}
PRESET_FILES = {"vae": "syntone_vae.py", "beta_vae": "syntone_beta_vae.py", "beta_tcvae": "syntone_beta_tcvae.py",
                "factor_vae": "syntone_factor_vae.py"}
PRESETS = {"full": "", "demo": "demo", "smoke": "smoke"}
VARIANTS = ("syntone_compat", "corrected")
PROTOCOLS = VARIANTS  # each variant's own evaluation protocol has the same name
FILE_NAMES = {"runs": "runs.csv", "summary": "summary.csv", "markdown": "table.md", "latex": "table.tex"}
KEY_FIELDS = ("model", "variant", "seed")

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
      out.append(("compat.leak_disc_grad", "true"))
    if model == "beta_tcvae":
      out.append(("model.tc_estimator", "mss"))
  elif variant == "corrected":
    out = [("audio.frontend", "log_mel")]
    if model == "factor_vae":
      out.append(("compat.leak_disc_grad", "false"))
    if model == "beta_tcvae":
      out.append(("model.tc_estimator", "mss_paper"))
  else:
    raise UsageError(f"unknown benchmark variant {variant!r}; expected one of {VARIANTS}")
  return out


def model_spec(model: str, variant: str, *, preset: str, seed: int, data_dir: str, steps: int | None = None,
               extra: list[tuple[str, str]] | None = None) -> tuple[str, list[tuple[str, str]]]:
  """(preset spec 'configs/x.py[:arg]', overrides) of one benchmark run."""
  if model not in PRESET_FILES:
    raise UsageError(f"unknown benchmark model {model!r}; expected some of {MODELS}")
  if preset not in PRESETS:
    raise UsageError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
  spec = config_utils.preset_path(PRESET_FILES[model]) + (f":{PRESETS[preset]}" if PRESETS[preset] else "")
  overrides = [("seed", str(seed)), ("data.dir", data_dir), ("eval.protocol", "both"), ("train.progress", "false")]
  overrides += variant_overrides(model, variant)
  if steps:
    overrides.append(("train.steps", str(steps)))
  return spec, overrides + list(extra or [])


def model_config(model: str, variant: str, *, preset: str, seed: int, data_dir: str, steps: int | None = None,
                 extra: list[tuple[str, str]] | None = None):
  """The checked, locked config of one benchmark run."""
  spec, overrides = model_spec(model, variant, preset=preset, seed=seed, data_dir=data_dir, steps=steps, extra=extra)
  return config_utils.build_config(spec, overrides)


def run_dir(workdir: str, variant: str, model: str, seed: int) -> str:
  return os.path.join(workdir, variant, model, f"seed{seed}")


def gif_after(spec: runner.RunSpec, config, state, results: dict) -> dict:
  """The runner's `after` hook: seed 0 of each model and variant gets an animated frequency sweep."""
  fields = spec.fields()
  if fields["seed"] != 0:
    return {}
  from decompjax.families.syntone_vae.animate import animate_sweep
  params = state.params["vae"] if "vae" in state.params else state.params
  title = f"{LABELS[fields['model']]} ({fields['variant']}), step {int(state.step)}"
  path = animate_sweep(config, params, os.path.join(spec.rundir, "sweep.gif"), title=title)
  return {"files": [os.path.relpath(path, spec.rundir)]}


def metrics() -> list[tables.Metric]:
  """What summary.csv holds per (model, variant): each protocol's columns, then the extra corrected scalars."""
  out = []
  for protocol in PROTOCOLS:
    for label, corrected_key, compat_key in COLUMNS:
      key = compat_key if protocol == "syntone_compat" else corrected_key
      if key is not None:
        out.append(tables.Metric(label, key, (("protocol", protocol),)))
  out += [tables.Metric(key, key, (("protocol", "corrected"),)) for key in EXTRA_KEYS]
  return out


def summarize(records: list[dict]) -> list[dict]:
  """records: {'model', 'variant', 'seed', 'results'} -> one row per (model, variant, metric protocol, metric):
  mean, sample std (ddof=1) and n over seeds."""
  return tables.summarize(records, ("model", "variant"), metrics())


def table_rows(summary: list[dict], models: list[str]) -> list[tuple[str, str, list[tables.Stat]]]:
  """(model, shown protocol, cells) for the two-protocol table, plus the README reference rows.
  syntone_compat rows come from the models trained the original way, corrected rows from the corrected training."""
  index = tables.index(summary, "model", "variant", "protocol", "metric")
  missing = tables.Stat(math.nan)
  out = []
  for model in models:
    ref = ORIGINAL_README.get(model, {})
    out.append((model, "SynTone README", [tables.Stat(ref.get(label, math.nan)) for label, _, _ in COLUMNS]))
    for protocol in VARIANTS:
      out.append((model, protocol, [index.get((model, protocol, protocol, label), missing) for label, _, _ in COLUMNS]))
  return out


NOTES = ("syntone_compat: models trained as the original (per-frame-normalised mel), scored by the original "
         "evaluator (sampled z, swapped arguments, 10 bins); only MIG, SAP, JEMMIG, DCIMIG and modularity exist "
         "there. corrected: log-mel front end, encoder means vs ground-truth factors. The two protocols are not "
         "comparable with each other. SynTone README: the original's reported numbers (32k grid, 50 epochs).")


def write_tables(out_dir: str, records: list[dict], models: list[str], header: str) -> dict[str, str]:
  """runs.csv, summary.csv, table.md and table.tex in `out_dir`; returns {'runs', 'summary', 'markdown', 'latex'}."""
  summary = summarize(records)
  labels = [c[0] for c in COLUMNS]
  rows = [[tables.Text(LABELS[model], _LATEX_LABELS[model]), protocol, *cells]
          for model, protocol, cells in table_rows(summary, models)]
  table = tables.Table(header=header, columns=["model", "protocol", *labels], rows=rows, key_columns=2, notes=NOTES)
  return tables.write_tables(out_dir, records=records, key_fields=KEY_FIELDS, summary=summary, table=table,
                             names=FILE_NAMES)


def run_benchmark(workdir: str, *, seeds: int = 3, preset: str = "full", steps: int | None = None,
                  models: list[str] | None = None, data_dir: str | None = None, gif: bool = True,
                  extra: list[tuple[str, str]] | None = None) -> dict:
  """Trains and evaluates every (variant, model, seed); writes the tables. Returns {'tables', 'records'}."""
  models = list(models or MODELS)
  unknown = sorted(set(models) - set(MODELS))
  if unknown:
    raise UsageError(f"unknown benchmark model(s) {unknown}; expected some of {list(MODELS)}")
  if seeds < 1:
    raise UsageError(f"--seeds must be >= 1, got {seeds}")
  workdir = os.path.abspath(workdir)
  data_dir = os.path.abspath(data_dir or os.path.join(workdir, "data"))

  def make(cell: dict) -> runner.RunSpec:
    spec, overrides = model_spec(cell["model"], cell["variant"], preset=preset, seed=cell["seed"],
                                 data_dir=data_dir, steps=steps, extra=extra)
    return runner.RunSpec(key=tuple(cell.items()), preset=spec, overrides=tuple(overrides),
                          rundir=run_dir(workdir, cell["variant"], cell["model"], cell["seed"]))

  specs = runner.expand({"variant": VARIANTS, "model": models, "seed": range(seeds)}, make)
  results = runner.run_all(specs, after=gif_after if gif else None)
  records = [dict(**spec.fields(), results={**res["results"], "train_seconds": res["seconds"]["train"],
                                            "eval_seconds": res["seconds"]["eval"]})
             for spec, res in zip(specs, results)]
  configs = {model: model_config(model, VARIANTS[0], preset=preset, seed=0, data_dir=data_dir, steps=steps,
                                 extra=extra) for model in models}
  g = configs[models[0]].data.grid
  batches = ", ".join(f"{LABELS[m]} {configs[m].train.batch_size}" for m in models)
  header = (f"SynTone benchmark, preset '{preset}': grid 4 x {g.num_freqs} x {g.num_amps} "
            f"({4 * g.num_freqs * g.num_amps} clips), {configs[models[0]].train.steps} steps per model "
            f"(batch: {batches}), {seeds} seed(s).")
  return {"tables": write_tables(workdir, records, models, header), "records": records}
