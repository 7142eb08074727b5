"""The UCR gamma sweep ([BT] experiment.py): per dataset and seed, one plain VQ-VAE and one Barlow VQ-VAE per gamma.

gamma is written to config.model.gamma of each run and read back from the run's saved config into its result
(the original's sweep wrote a key the model never read, so every run used gamma = 1); a mismatch stops the sweep.
Runs go through `experiments.runner` (grid dataset -> seed -> model; each resumable, reused when its config is
unchanged), optionally evaluated every `probe_every` epochs too (epoch 0 = the initial state, untrained) into
<run>/probes/step_N/. Batch: min(batch_size, n_train) rounded down to a multiple of the device count (of every
run's device count, when the runs' CPU splits differ), so all models of a dataset see the same batches;
steps = epochs x ceil(n_train / batch) unless `steps` is given.
Tables (experiments.tables, mean ± sample std over seeds, ddof=1): sweep_runs.csv (every run), sweep_table.csv
(summary: mean, std, n per dataset x model x metric, with the archive's 1-NN ED / DTW accuracies from
DataSummary.csv), sweep_table.md and sweep_table.tex.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Sequence

from decompjax import config_utils
from decompjax.errors import UsageError
from decompjax.experiments import runner, tables

METRICS = ("svm_acc", "knn1_acc", "knn5_acc", "knn10_acc", "silhouette_mean", "pca95_components", "perplexity",
           "test_mse_time", "test_mse_stft")
PLAIN = "vqvae"
FILE_NAMES = {"runs": "sweep_runs.csv", "summary": "sweep_table.csv", "markdown": "sweep_table.md",
              "latex": "sweep_table.tex"}
KEY_FIELDS = ("dataset", "model", "gamma", "seed", "epochs", "batch_size", "steps")


@dataclasses.dataclass(frozen=True)
class Sweep:
  """What `decompjax sweep ucr` asks for (its flags)."""
  datasets: Sequence[str]
  workdir: str
  gammas: Sequence[float] = (2.0, 1.0, 0.5)
  seeds: int = 2
  ucr_dir: str = ""
  nan_policy: str = "error"
  epochs: int = 1500
  steps: int = 0                  # train steps per run; 0 = from epochs
  batch_size: int = 128
  projector_width: int = 512
  probe_every: int = 0            # epochs; 0 = evaluate at the end only
  frozen_projector: bool = False
  plain: bool = True              # include the plain VQ-VAE baseline
  num_devices: int = 0            # mesh size; 0 = every device
  smoke: bool = False             # tiny models (tests)
  extra: Sequence[tuple[str, str]] = ()  # --config.a.b=value overrides for every run


def models(sweep: Sweep) -> list[tuple[str, float | None]]:
  """(label, gamma or None for the plain VQ-VAE) in table order."""
  out = [] if not sweep.plain else [(PLAIN, None)]
  return out + [(f"barlow_g{g:g}", g) for g in sweep.gammas]


def preset(sweep: Sweep, gamma: float | None) -> str:
  path = config_utils.preset_path("vqvae_ucr.py" if gamma is None else "barlow_vqvae_ucr.py")
  return path + (":smoke" if sweep.smoke else "")


def common_overrides(sweep: Sweep, dataset: str, gamma: float | None) -> list[tuple[str, str]]:
  """The overrides every run of `dataset` shares, before the batch and step count are known."""
  out = [("data.ucr_dir", sweep.ucr_dir), ("data.name", dataset), ("data.nan_policy", sweep.nan_policy),
         ("mesh.num_devices", str(sweep.num_devices)), ("train.progress", "false")]
  if gamma is not None:
    out += [("model.gamma", repr(float(gamma))),
            ("model.projector_width", str(32 if sweep.smoke else sweep.projector_width)),
            ("compat.frozen_projector", str(sweep.frozen_projector).lower())]
  return out + list(sweep.extra)


def batch_size(requested: int, n_train: int, multiple: int) -> int:
  """At most `requested` and n_train, rounded down to a multiple of `multiple` (at least one multiple)."""
  return max(multiple, min(requested, n_train) // multiple * multiple)


def milestones(sweep: Sweep, steps: int, steps_per_epoch: int) -> tuple[int, ...]:
  """Steps evaluated besides the end: every probe_every epochs, epoch 0 (the initial state) included."""
  if not sweep.probe_every:
    return ()
  every = sweep.probe_every * steps_per_epoch
  return (0,) + tuple(range(every, steps, every))


def gamma_after(spec: runner.RunSpec, config, state, results: dict) -> dict:
  """The runner's `after` hook: gamma as the run saved it (what the model trained with)."""
  with open(os.path.join(spec.rundir, "config.json"), encoding="utf-8") as f:
    saved = json.load(f)
  return {"gamma_used": saved["model"].get("gamma"), "family": saved["model"]["family"]}


def _lcm(values) -> int:
  out = 1
  for v in values:
    out = out * v // math.gcd(out, v)
  return out


def grid(sweep: Sweep, n_train: dict[str, int], devices: int) -> tuple[list[runner.RunSpec], dict[str, dict]]:
  """RunSpecs in order dataset -> seed -> model, and per dataset {'batch', 'steps', 'steps_per_epoch'}."""
  plan = {}
  for name in sweep.datasets:
    batch = batch_size(sweep.batch_size, n_train[name], devices)
    spe = math.ceil(n_train[name] / batch)
    steps = sweep.steps or sweep.epochs * spe
    plan[name] = {"batch": batch, "steps": steps, "steps_per_epoch": spe, "epochs": steps // spe}
  gammas = dict(models(sweep))

  def make(cell: dict) -> runner.RunSpec:
    name, label, seed = cell["dataset"], cell["model"], cell["seed"]
    p = plan[name]
    steps = p["steps"]
    overrides = common_overrides(sweep, name, gammas[label]) + [
        ("seed", str(seed)), ("train.steps", str(steps)), ("optim.decay_steps", str(steps)),
        ("train.batch_size", str(p["batch"])), ("train.ckpt_every", str(max(steps, 1))),
        ("train.log_every", str(max(1, steps // 10)))]
    key = (("dataset", name), ("model", label), ("gamma", gammas[label]), ("seed", seed),
           ("epochs", p["epochs"]), ("batch_size", p["batch"]), ("steps", steps))
    return runner.RunSpec(key=key, preset=preset(sweep, gammas[label]), overrides=tuple(overrides),
                          rundir=os.path.join(sweep.workdir, name, label, f"seed{seed}"),
                          eval_at=milestones(sweep, steps, p["steps_per_epoch"]))

  axes = {"dataset": list(sweep.datasets), "seed": range(sweep.seeds), "model": [m for m, _ in models(sweep)]}
  return runner.expand(axes, make), plan


def device_multiple(sweep: Sweep) -> int:
  """The multiple every batch is rounded to: the mesh size if fixed, else every run's device count."""
  if sweep.num_devices:
    return sweep.num_devices
  probes = [config_utils.build_config(preset(sweep, g), common_overrides(sweep, sweep.datasets[0], g))
            for _, g in models(sweep)]
  return _lcm(runner.devices_per_run(probes))


def write_tables(out_dir: str, records: list[dict], summary_csv: str, header: str) -> dict[str, str]:
  from decompjax.data import ucr
  reference = {}

  def group_info(members: list[dict]) -> dict:
    first = members[0]
    if first["dataset"] not in reference:
      reference[first["dataset"]] = ucr.summary_accuracies(summary_csv, first["dataset"])
    acc = reference[first["dataset"]]
    gamma = first["results"].get("gamma_used")
    return {"gamma": "" if gamma is None else gamma, "epochs": first["epochs"],
            "1nn_ed": acc.get("1nn_ed", ""), "1nn_dtw": acc.get("1nn_dtw_learned", "")}

  summary = tables.summarize(records, ("dataset", "model"), [tables.Metric(m, m) for m in METRICS],
                             group_info=group_info)
  index = tables.index(summary, "dataset", "model", "metric")
  first_rows = {(r["dataset"], r["model"]): r for r in reversed(summary)}  # each group's first summary row
  runs = {}
  for r in records:
    runs[(r["dataset"], r["model"])] = runs.get((r["dataset"], r["model"]), 0) + 1
  rows = []
  for group, n in runs.items():  # grid order
    row = first_rows[group]
    rows.append([*group, str(row["gamma"]), str(n), str(row["epochs"]), *[index[(*group, m)] for m in METRICS],
                 str(row["1nn_ed"]), str(row["1nn_dtw"])])
  columns = ["dataset", "model", "gamma", "seeds", "epochs", *METRICS, "1nn_ed", "1nn_dtw"]
  table = tables.Table(header=header, columns=columns, rows=rows, key_columns=5,
                       notes="1nn_ed / 1nn_dtw: the archive's 1-NN Euclidean / DTW (learned window) test "
                             "accuracies (DataSummary.csv).")
  return tables.write_tables(out_dir, records=records, key_fields=KEY_FIELDS, summary=summary, table=table,
                             names=FILE_NAMES)


def run_sweep(sweep: Sweep) -> dict:
  """Trains and evaluates the grid, checks each run's gamma, writes the tables; returns {'tables', 'records'}."""
  from decompjax.data import ucr
  if not sweep.datasets:
    raise UsageError("no UCR dataset named")
  if sweep.seeds < 1:
    raise UsageError(f"seeds must be >= 1, got {sweep.seeds}")
  sweep = dataclasses.replace(sweep, workdir=os.path.abspath(sweep.workdir))
  multiple = device_multiple(sweep)  # sets this process's CPU split (JAX starts here)
  root = ucr.resolve_dir(sweep.ucr_dir)
  n_train = {name: len(ucr.load_ucr(root, name, nan_policy=sweep.nan_policy).train_y) for name in sweep.datasets}
  specs, plan = grid(sweep, n_train, multiple)
  results = runner.run_all(specs, after=gamma_after)
  records = []
  for spec, res in zip(specs, results):
    f = spec.fields()
    used = res["extra"].get("gamma_used")
    if f["gamma"] is not None and (used is None or not math.isclose(float(used), f["gamma"])):
      raise RuntimeError(f"{spec.rundir}: trained with gamma {used}, asked for {f['gamma']}")
    records.append({**f, "gamma": "" if f["gamma"] is None else f["gamma"],
                    "results": {**res["results"], "gamma_used": used, "train_seconds": res["seconds"]["train"],
                                "eval_seconds": res["seconds"]["eval"]}})
    print(f"{f['dataset']} {f['model']} seed {f['seed']}: svm {res['results'].get('svm_acc', math.nan):.3f} "
          f"knn1 {res['results'].get('knn1_acc', math.nan):.3f}", flush=True)
  budget = ", ".join(f"{name} {p['steps']} steps of batch {p['batch']} ({p['epochs']} epochs)"
                     for name, p in plan.items())
  gammas = ", ".join(f"{g:g}" for g in sweep.gammas)
  width = 32 if sweep.smoke else sweep.projector_width
  header = (f"UCR sweep: {'plain VQ-VAE and ' if sweep.plain else ''}Barlow VQ-VAE with gamma in {{{gammas}}} "
            f"(projector {width}{', frozen' if sweep.frozen_projector else ''}), {sweep.seeds} seed(s); {budget}.")
  return {"tables": write_tables(sweep.workdir, records, str(root / "DataSummary.csv"), header),
          "records": records}
