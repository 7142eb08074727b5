"""decompjax benchmark syntone --workdir=runs/syntone [--seeds=N] [--preset=full|demo|smoke] [--steps=N]
                              [--config.a.b=value ...]   (applied to every model, e.g. eval.num_examples)

Trains VAE, beta-VAE, beta-TCVAE and FactorVAE with the original SynTone hyperparameters, once the original way
and once corrected, over N seeds; evaluates each in both protocols and writes runs.csv, summary.csv, table.md and
table.tex into the workdir (see decompjax/experiments/syntone.py). Re-running reuses finished runs whose config
is unchanged.
"""
from __future__ import annotations

import os
import time

from decompjax import config_utils
from decompjax.commands import parsing
from decompjax.errors import UsageError

SUBJECTS = {"syntone": "VAE, beta-VAE, beta-TCVAE and FactorVAE on SynTone, original vs corrected, over seeds"}


def main(argv: list[str]) -> int:
  if argv and argv[0] in parsing.HELP_FLAGS:
    print(parsing.subjects_help("decompjax benchmark", "benchmark", SUBJECTS, overrides=True))
    return 0
  if not argv or argv[0] not in SUBJECTS:
    raise UsageError(f"usage: decompjax benchmark {{{','.join(SUBJECTS)}}} --workdir=DIR [--seeds=N] "
                     "[--preset=full|demo|smoke] [--steps=N] (see decompjax benchmark --help)")
  p = parsing.Parser("decompjax benchmark syntone", __doc__, overrides=True)
  p.add_argument("--workdir", default="runs/syntone")
  p.add_argument("--seeds", type=int, default=3, help="training seeds per model and variant")
  p.add_argument("--preset", default="full", choices=("full", "demo", "smoke"),
                 help="full: the 32k-clip grid; demo: 4x50x10 grid for a CPU; smoke: tiny, for tests")
  p.add_argument("--steps", type=int, default=None, help="train steps for every model (default: the preset's)")
  p.add_argument("--models", default="vae,beta_vae,beta_tcvae,factor_vae", help="comma-separated subset")
  p.add_argument("--data_dir", default=None, help="where the grid is generated (default: <workdir>/data)")
  p.add_argument("--no_gif", action="store_true", help="skip the frequency-sweep GIFs")
  spec, overrides, rest = config_utils.split_config_args(argv[1:])
  if spec:
    raise UsageError("benchmark picks its own presets; override fields with --config.a.b=value")
  args = p.parse_args(rest)
  if args.steps is not None and args.steps < 1:
    raise UsageError(f"--steps must be >= 1, got {args.steps}")
  from decompjax.experiments import syntone as benchmark  # noqa: PLC0415 (after parsing: bad flags fail fast)
  t0 = time.time()
  out = benchmark.run_benchmark(args.workdir, seeds=args.seeds, preset=args.preset, steps=args.steps,
                                models=[m.strip() for m in args.models.split(",") if m.strip()],
                                data_dir=args.data_dir, gif=not args.no_gif, extra=overrides)
  with open(out["tables"]["markdown"], encoding="utf-8") as f:
    print(f.read())
  print(f"benchmark finished in {time.time() - t0:.0f}s; tables: "
        + ", ".join(os.path.relpath(v) for v in out["tables"].values()))
  return 0
