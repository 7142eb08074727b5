"""decompjax sweep ucr --datasets=A,B --gammas=2,1,0.5 --seeds=N --workdir=DIR [--epochs=E | --steps=S]

The [BT] experiment.py protocol: per dataset and seed, one plain VQ-VAE and one Barlow VQ-VAE per gamma.
gamma is written to config.model.gamma of each run and read back from the saved config into its result
(the original's sweep wrote a key the model never read, so every run used gamma = 1).
Each run trains through `decompjax.train.train_and_evaluate`, is evaluated in eval mode (optionally also at
every --probe_every epochs, epoch 0 included) and writes <run>/result.json; finished runs are reused.
Outputs: <workdir>/sweep_table.csv and .md (mean ± std over seeds, with the archive's 1-NN ED / DTW
accuracies from DataSummary.csv beside them).
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from decompjax import config_utils
from decompjax.commands import parsing
from decompjax.errors import UsageError

METRICS = ("svm_acc", "knn1_acc", "knn5_acc", "knn10_acc", "silhouette_mean", "pca95_components", "perplexity",
           "test_mse_time", "test_mse_stft")


def _floats(text: str, flag: str) -> list[float]:
  try:
    return [float(v) for v in text.split(",") if v.strip()]
  except ValueError:
    raise UsageError(f"{flag}={text!r}: expected comma-separated numbers") from None


def parse(argv):
  p = parsing.Parser("decompjax sweep", __doc__)
  p.add_argument("suite", choices=["ucr"])
  p.add_argument("--datasets", required=True, help="comma-separated UCR names (2015 or 2018 spelling)")
  p.add_argument("--gammas", default="2,1,0.5")
  p.add_argument("--seeds", type=int, default=2, help="runs per model (seeds 0..N-1)")
  p.add_argument("--workdir", required=True)
  p.add_argument("--ucr_dir", default="", help="UCR root (default: the packaged sets)")
  p.add_argument("--nan_policy", default="error", choices=["error", "interpolate"],
                 help="missing values inside a series: refuse the file (default) or interpolate linearly")
  p.add_argument("--epochs", type=int, default=1500)
  p.add_argument("--steps", type=int, default=0, help="train steps per run (overrides --epochs)")
  p.add_argument("--batch_size", type=int, default=128, help="at most this, and at most n_train")
  p.add_argument("--projector_width", type=int, default=512, help="original: 4096")
  p.add_argument("--probe_every", type=int, default=0, help="also probe every N epochs (and at epoch 0)")
  p.add_argument("--frozen_projector", action="store_true", help="reproduce the original's untrained projector")
  p.add_argument("--no_plain", action="store_true", help="skip the plain VQ-VAE baseline")
  p.add_argument("--num_devices", type=int, default=0, help="mesh size (0 = all visible devices)")
  p.add_argument("--smoke", action="store_true", help="tiny models (tests)")
  args = p.parse_args(argv)
  args.dataset_list = [d.strip() for d in args.datasets.split(",") if d.strip()]
  args.gamma_list = _floats(args.gammas, "--gammas")
  if not args.dataset_list:
    raise UsageError("--datasets is empty")
  if args.seeds < 1:
    raise UsageError("--seeds must be >= 1")
  return args


def run_configs(args, name: str, n_train: int, n_devices: int):
  """-> [(label, gamma, seed, config)] for one dataset."""
  batch = max(n_devices, min(args.batch_size, n_train) // n_devices * n_devices)
  steps = args.steps or args.epochs * math.ceil(n_train / batch)
  arg = "smoke" if args.smoke else None
  models = [] if args.no_plain else [("vqvae", None)]
  models += [(f"barlow_g{g:g}", g) for g in args.gamma_list]
  out = []
  for seed in range(args.seeds):
    for label, gamma in models:
      preset = config_utils.preset_path("vqvae_ucr.py" if gamma is None else "barlow_vqvae_ucr.py")
      c = config_utils.load_config_file(preset + (f":{arg}" if arg else ""))
      c.data.ucr_dir, c.data.name, c.seed = args.ucr_dir, name, seed
      c.data.nan_policy = args.nan_policy
      c.train.steps, c.optim.decay_steps, c.train.batch_size = steps, steps, batch
      c.mesh.num_devices = args.num_devices
      c.train.ckpt_every, c.train.progress, c.train.log_every = max(steps, 1), False, max(1, steps // 10)
      if gamma is not None:
        c.model.gamma = gamma
        c.model.projector_width = 32 if args.smoke else args.projector_width
        c.compat.frozen_projector = args.frozen_projector
      out.append((label, gamma, seed, c))
  return out, steps, batch


def train_one(config, rundir: str, probe_steps: list[int], steps_per_epoch: int) -> dict:
  from decompjax import registry, train  # noqa: PLC0415
  family = registry.get_family(config.model.family)
  history = []
  config.train.eval_at_end = False  # each milestone and the end are evaluated below, into their own folders
  for milestone in probe_steps:  # intermediate probes: train up to the milestone (resuming), evaluate
    config.train.steps = milestone
    state = train.train_and_evaluate(config, rundir)
    m = family.evaluate(config, state, os.path.join(rundir, "probes", f"step_{milestone}"))
    history.append({"epoch": milestone // steps_per_epoch, **m})
  config.train.steps = config.optim.decay_steps
  state = train.train_and_evaluate(config, rundir)
  final = family.evaluate(config, state, rundir)
  with open(os.path.join(rundir, "config.json"), encoding="utf-8") as f:
    saved = json.load(f)
  return {"final": final, "history": history, "gamma_used": saved["model"].get("gamma"),
          "family": config.model.family, "steps": int(state.step)}


def _fmt(values) -> str:
  v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
  if not len(v):
    return ""
  return f"{v.mean():.3f} ± {v.std():.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def write_tables(results: list[dict], workdir: str, summary_csv: str) -> tuple[str, str]:
  from decompjax.data import ucr  # noqa: PLC0415
  rows = []
  keys = sorted({(r["dataset"], r["label"]) for r in results}, key=lambda k: (k[0], k[1] != "vqvae", k[1]))
  for ds, label in keys:
    rs = [r for r in results if r["dataset"] == ds and r["label"] == label]
    row = {"dataset": ds, "model": label, "gamma": rs[0]["gamma_used"] if label != "vqvae" else "",
           "seeds": len(rs), "epochs": rs[0]["epochs"]}
    for m in METRICS:
      row[m] = _fmt([r["final"].get(m) for r in rs])
    acc = ucr.summary_accuracies(summary_csv, ds)
    row["1nn_ed"] = acc.get("1nn_ed", "")
    row["1nn_dtw"] = acc.get("1nn_dtw_learned", "")
    rows.append(row)
  cols = list(rows[0])
  csv_path, md_path = os.path.join(workdir, "sweep_table.csv"), os.path.join(workdir, "sweep_table.md")
  import csv  # noqa: PLC0415
  with open(csv_path, "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, cols)
    w.writeheader()
    w.writerows(rows)
  with open(md_path, "w", encoding="utf-8") as f:
    f.write("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")
    for r in rows:
      f.write("| " + " | ".join(str(r[c]) for c in cols) + " |\n")
  return csv_path, md_path


def main(argv: list[str]) -> int:
  args = parse(argv)
  import jax  # noqa: PLC0415 (after parsing: bad flags fail fast)
  from decompjax import cpu_devices  # noqa: PLC0415
  # Before device_count() starts JAX: the VQ-VAE presets' split (auto), unless --cpu_devices says otherwise.
  cpu_devices.configure_for(config_utils.load_config_file(config_utils.preset_path("vqvae_ucr.py")))
  from decompjax.data import ucr  # noqa: PLC0415
  root = ucr.resolve_dir(args.ucr_dir)
  n_dev = args.num_devices or jax.device_count()
  results = []
  for name in args.dataset_list:
    data = ucr.load_ucr(root, name, nan_policy=args.nan_policy)
    runs, steps, batch = run_configs(args, name, len(data.train_y), n_dev)
    spe = math.ceil(len(data.train_y) / batch)
    probe_steps = ([0] + list(range(args.probe_every * spe, steps, args.probe_every * spe))
                   if args.probe_every else [])
    for label, gamma, seed, config in runs:
      rundir = os.path.join(args.workdir, name, label, f"seed{seed}")
      path = os.path.join(rundir, "result.json")
      if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
          res = json.load(f)
      else:
        res = train_one(config, rundir, probe_steps, spe)
        res.update(dataset=name, label=label, seed=seed, epochs=steps // spe, batch_size=batch)
        with open(path, "w", encoding="utf-8") as f:
          json.dump(res, f, indent=2, sort_keys=True, default=str)
      if gamma is not None and not math.isclose(float(res["gamma_used"]), gamma):
        raise RuntimeError(f"{rundir}: trained with gamma {res['gamma_used']}, asked for {gamma}")
      results.append(res)
      print(f"{name} {label} seed {seed}: svm {res['final'].get('svm_acc', float('nan')):.3f} "
            f"knn1 {res['final'].get('knn1_acc', float('nan')):.3f}", flush=True)
  csv_path, md_path = write_tables(results, args.workdir, str(root / "DataSummary.csv"))
  with open(md_path, encoding="utf-8") as f:
    print(f.read())
  print(f"wrote {csv_path} and {md_path}")
  return 0
