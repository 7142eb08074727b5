"""The DecVAE beta ablation and baselines on SimVowels (issue 11 §4), in the layout of spec §5.1 (paper Fig. 2).

Grid (experiments.runner: each run resumable, reused when its config is unchanged), in this order:
  decomposition method x NoC x seed x {DecAE (beta 0), DecVAE (beta 1), beta-DecVAE (beta 0.1)}
  seed x {AE, VAE, beta-VAE}: the frame-MLP VAE on X (fc_vae.py; beta 0 / 1 / 0.1), once per seed: it reads
  only the frame X, which the decomposition does not change (it uses the first method / NoC's cache);
  PCA / ICA / raw mel (baselines.py), fitted once (seed 0) on the first method / NoC's train frames.
Every run shares one data cache (<workdir>/data) and is evaluated by the family's evaluate (the same analysis as
`decompjax eval`). Table columns: MI, GCN, D, C, I, Ex, Mod, IRS, vowel sup, spk sup, vowel KMeans, spk KMeans
from the Z branch's 'all' aggregation (DecVAE) or 'X' (FC-VAE and the baselines), as in the paper;
"sup" = the logistic-regression probe. Files: decvae_runs.csv, decvae_table.csv, decvae_table.md, decvae_table.tex.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Sequence

from decompjax import config_utils
from decompjax.errors import UsageError
from decompjax.experiments import runner, tables

PRESETS = ("smoke", "demo", "paper")
# label -> (family preset file, beta)
DEC_MODELS = {"DecAE": 0.0, "DecVAE": 1.0, "beta-DecVAE": 0.1}
FC_MODELS = {"AE": 0.0, "VAE": 1.0, "beta-VAE": 0.1}
BASELINES = {"PCA": "pca", "ICA": "ica", "raw mel": "raw"}
COLUMNS = (("MI", "MI"), ("GCN", "GCN"), ("D", "D"), ("C", "C"), ("I", "I"), ("Ex", "Ex"), ("Mod", "Mod"),
           ("IRS", "IRS"), ("vowel sup", "vowel_lr"), ("spk sup", "speaker_frame_lr"),
           ("vowel KMeans", "vowel_kmeans"), ("spk KMeans", "speaker_frame_kmeans"))
KEY_FIELDS = ("model", "method", "noc", "seed", "aggregation")
FILE_NAMES = {"runs": "decvae_runs.csv", "summary": "decvae_table.csv", "markdown": "decvae_table.md",
              "latex": "decvae_table.tex"}


@dataclasses.dataclass(frozen=True)
class Ablation:
  workdir: str
  preset: str = "demo"
  methods: Sequence[str] = ("fd", "ewt")
  nocs: Sequence[int] = (3,)
  seeds: int = 1
  models: Sequence[str] = tuple(DEC_MODELS) + tuple(FC_MODELS)
  baselines: Sequence[str] = tuple(BASELINES)
  baseline_dims: int = 0          # PCA / ICA components; 0 = the DecVAE 'all' width (z_dim x (NoC + 1))
  steps: int = 0                  # 0 = the preset's
  extra: Sequence[tuple[str, str]] = ()  # --config.a.b=value for every run


def _preset_arg(a: Ablation) -> str:
  return "" if a.preset == "paper" else f":{a.preset}"


def _common(a: Ablation, method: str, noc: int, seed: int) -> list[tuple[str, str]]:
  out = [("decomp.method", method), ("decomp.noc", str(noc)), ("seed", str(seed)), ("train.progress", "false"),
         ("data.cache_dir", os.path.join(a.workdir, "data"))]
  if a.steps:
    out.append(("train.steps", str(a.steps)))
  return out + list(a.extra)


def grid(a: Ablation) -> list[runner.RunSpec]:
  """The trained runs, in table order (DecVAE family by method, NoC, seed; then the FC-VAE by seed)."""
  unknown = sorted(set(a.models) - set(DEC_MODELS) - set(FC_MODELS))
  if unknown:
    raise UsageError(f"unknown model(s) {unknown}; choose from {list(DEC_MODELS) + list(FC_MODELS)}")
  specs = []
  dec_preset = config_utils.preset_path("decvae_simvowels.py") + _preset_arg(a)
  fc_preset = config_utils.preset_path("decvae_fc_vae.py") + _preset_arg(a)
  for method in a.methods:
    for noc in a.nocs:
      for seed in range(a.seeds):
        for label in (m for m in a.models if m in DEC_MODELS):
          beta = repr(DEC_MODELS[label])
          specs.append(runner.RunSpec(
              key=(("model", label), ("method", method), ("noc", noc), ("seed", seed), ("aggregation", "all")),
              preset=dec_preset, overrides=tuple(_common(a, method, noc, seed) + [("model.beta_z", beta),
                                                                                 ("model.beta_s", beta)]),
              rundir=os.path.join(a.workdir, "runs", f"{label}_{method}_noc{noc}_seed{seed}")))
  for seed in range(a.seeds):
    for label in (m for m in a.models if m in FC_MODELS):
      specs.append(runner.RunSpec(
          key=(("model", label), ("method", "—"), ("noc", "—"), ("seed", seed), ("aggregation", "X")),
          preset=fc_preset, overrides=tuple(_common(a, a.methods[0], a.nocs[0], seed)
                                            + [("model.beta", repr(FC_MODELS[label]))]),
          rundir=os.path.join(a.workdir, "runs", f"fc_{label}_seed{seed}")))
  return specs


def _row_results(results: dict, aggregation: str) -> dict:
  """The Z branch's columns of one aggregation: {'MI': ..., 'vowel_lr': ...}, plus the run's timings."""
  prefix = f"z/{aggregation}/"
  return {k[len(prefix):]: v for k, v in results.items() if k.startswith(prefix)}


def run_baselines(a: Ablation) -> list[dict]:
  """PCA / ICA / raw mel on the first method / NoC's data; each writes <workdir>/baselines/<kind>/eval/."""
  from decompjax.evaluation.report import write_report
  from decompjax.families.decvae import baselines
  out = []
  if not a.baselines:
    return out
  unknown = sorted(set(a.baselines) - set(BASELINES))
  if unknown:
    raise UsageError(f"unknown baseline(s) {unknown}; choose from {list(BASELINES)}")
  preset = config_utils.preset_path("decvae_simvowels.py") + _preset_arg(a)
  config = config_utils.build_config(preset, _common(a, a.methods[0], a.nocs[0], 0))
  dims = a.baseline_dims or int(config.model.z_dim) * (int(config.decomp.noc) + 1)
  for label in a.baselines:
    kind = BASELINES[label]
    report = baselines.evaluate_baseline(config, kind, dims=dims)
    write_report(report, os.path.join(a.workdir, "baselines", kind))
    out.append({"model": label, "method": "—", "noc": "—", "seed": 0, "aggregation": "X",
                "results": {**_row_results(report.metrics, "X"), "dims": report.metrics.get("z/X/dim")}})
    print(f"{label}: D {out[-1]['results'].get('D', float('nan')):.3f} "
          f"vowel sup {out[-1]['results'].get('vowel_lr', float('nan')):.3f}", flush=True)
  return out


def write_tables(a: Ablation, records: list[dict]) -> dict[str, str]:
  group = ("model", "method", "noc")
  summary = tables.summarize(records, group, [tables.Metric(name, key) for name, key in COLUMNS])
  idx = tables.index(summary, *group, "metric")
  seeds: dict[tuple, int] = {}
  for r in records:
    g = tuple(r[f] for f in group)
    seeds[g] = seeds.get(g, 0) + 1
  rows = [[g[0], str(g[1]), str(g[2]), str(n), *[idx[(*g, name)] for name, _ in COLUMNS]] for g, n in seeds.items()]
  header = (f"DecVAE beta ablation and baselines on SimVowels (preset {a.preset}): Z branch, 'all' aggregation "
            "(FC-VAE and baselines: the frame X); sup = logistic-regression probe accuracy, KMeans = greedy-mapped "
            "cluster accuracy (layout of spec §5.1 / paper Fig. 2).")
  table = tables.Table(header=header, columns=["model", "method", "NoC", "seeds", *[n for n, _ in COLUMNS]],
                       rows=rows, key_columns=4,
                       notes="MI, GCN: lower is better. DecAE / DecVAE / beta-DecVAE = beta 0 / 1 / 0.1; AE / VAE / "
                             "beta-VAE = the frame-MLP VAE at beta 0 / 1 / 0.1.")
  return tables.write_tables(a.workdir, records=records, key_fields=KEY_FIELDS, summary=summary, table=table,
                             names=FILE_NAMES)


def run_ablation(a: Ablation) -> dict:
  """Trains and evaluates the grid, runs the baselines, writes the tables; returns {'tables', 'records'}."""
  if a.preset not in PRESETS:
    raise UsageError(f"preset {a.preset!r} is not one of {PRESETS}")
  if a.seeds < 1 or not a.methods or not a.nocs:
    raise UsageError("the ablation needs seeds >= 1, at least one method and one NoC")
  a = dataclasses.replace(a, workdir=os.path.abspath(a.workdir))
  specs = grid(a)
  results = runner.run_all(specs)
  records = []
  for spec, res in zip(specs, results):
    f = spec.fields()
    row = {**_row_results(res["results"], f["aggregation"]), "train_seconds": res["seconds"]["train"],
           "eval_seconds": res["seconds"]["eval"]}
    records.append({**f, "results": row})
    print(f"{f['model']} {f['method']} NoC {f['noc']} seed {f['seed']}: D {row.get('D', float('nan')):.3f} "
          f"vowel sup {row.get('vowel_lr', float('nan')):.3f} spk sup {row.get('speaker_frame_lr', float('nan')):.3f}",
          flush=True)
  records += run_baselines(a)
  return {"tables": write_tables(a, records), "records": records}
