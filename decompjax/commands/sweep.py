"""decompjax sweep ucr --datasets=A,B --gammas=2,1,0.5 --seeds=N --workdir=DIR [--epochs=E | --steps=S]
                     [--config.a.b=value ...]   (applied to every run)

The [BT] experiment.py protocol: per dataset and seed, one plain VQ-VAE and one Barlow VQ-VAE per gamma
(decompjax/experiments/ucr.py). gamma is written to config.model.gamma of each run and read back from the saved
config into its result. Each run trains through the generic trainer, is evaluated in eval mode (optionally also
every --probe_every epochs, epoch 0 = the untrained initial state) and writes <run>/result.json; a finished run is
reused while its config is unchanged. Each model runs with its own preset's CPU device split.
Outputs: <workdir>/sweep_runs.csv (every run), sweep_table.csv (mean, std, n over seeds per dataset x model x
metric, with the archive's 1-NN ED / DTW accuracies from DataSummary.csv), sweep_table.md and sweep_table.tex
(mean ± sample std, ddof=1).
"""
from __future__ import annotations

from decompjax import config_utils
from decompjax.commands import parsing
from decompjax.errors import UsageError


def _floats(text: str, flag: str) -> list[float]:
  try:
    return [float(v) for v in text.split(",") if v.strip()]
  except ValueError:
    raise UsageError(f"{flag}={text!r}: expected comma-separated numbers") from None


def parse(argv):
  p = parsing.Parser("decompjax sweep", __doc__, overrides=True)
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
  spec, overrides, rest = config_utils.split_config_args(argv)
  if spec:
    raise UsageError("sweep picks its own presets; override fields with --config.a.b=value")
  args = p.parse_args(rest)
  args.overrides = overrides
  args.dataset_list = [d.strip() for d in args.datasets.split(",") if d.strip()]
  args.gamma_list = _floats(args.gammas, "--gammas")
  if not args.dataset_list:
    raise UsageError("--datasets is empty")
  if args.seeds < 1:
    raise UsageError("--seeds must be >= 1")
  for flag in ("epochs", "steps", "batch_size", "projector_width", "probe_every", "num_devices"):
    if getattr(args, flag) < (1 if flag in ("epochs", "batch_size", "projector_width") else 0):
      raise UsageError(f"--{flag}={getattr(args, flag)} is out of range")
  return args


def main(argv: list[str]) -> int:
  args = parse(argv)  # bad flags fail before JAX starts
  from decompjax.experiments import ucr  # noqa: PLC0415
  out = ucr.run_sweep(ucr.Sweep(
      datasets=args.dataset_list, workdir=args.workdir, gammas=args.gamma_list, seeds=args.seeds,
      ucr_dir=args.ucr_dir, nan_policy=args.nan_policy, epochs=args.epochs, steps=args.steps,
      batch_size=args.batch_size, projector_width=args.projector_width, probe_every=args.probe_every,
      frozen_projector=args.frozen_projector, plain=not args.no_plain, num_devices=args.num_devices,
      smoke=args.smoke, extra=tuple(args.overrides)))
  with open(out["tables"]["markdown"], encoding="utf-8") as f:
    print(f.read())
  print("wrote " + ", ".join(out["tables"].values()))
  return 0
