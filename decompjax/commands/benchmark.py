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

SUBJECTS = {"syntone": "VAE, beta-VAE, beta-TCVAE and FactorVAE on SynTone, original vs corrected, over seeds",
            "convae_bss": "ConVAE-BSS voice/music separation: SDR improvement over seeds vs oracle IRM and compat",
            "decvae": "DecVAE beta ablation (DecAE/DecVAE/beta-DecVAE x method x NoC), FC-VAE, PCA/ICA/raw mel"}


def main(argv: list[str]) -> int:
  if argv and argv[0] in parsing.HELP_FLAGS:
    print(parsing.subjects_help("decompjax benchmark", "benchmark", SUBJECTS, overrides=True))
    return 0
  if not argv or argv[0] not in SUBJECTS:
    raise UsageError(f"usage: decompjax benchmark {{{','.join(SUBJECTS)}}} --workdir=DIR [--seeds=N] "
                     "[--preset=full|demo|smoke] [--steps=N] (see decompjax benchmark --help)")
  if argv[0] == "convae_bss":
    return convae_bss(argv[1:])
  if argv[0] == "decvae":
    return decvae(argv[1:])
  p = parsing.Parser("decompjax benchmark syntone", __doc__, overrides=True)
  p.add_argument("--workdir", default="runs/syntone")
  p.add_argument("--seeds", type=int, default=3, help="training seeds per model and variant")
  p.add_argument("--preset", default="full", choices=("full", "demo", "smoke"),
                 help="full: the 32k-clip grid; demo: 4x50x10 grid for a CPU; smoke: tiny, for tests")
  p.add_argument("--steps", type=int, default=None, help="train steps for every model (default: the preset's)")
  p.add_argument("--models", default="vae,beta_vae,beta_tcvae,factor_vae", help="comma-separated subset")
  p.add_argument("--data_dir", default=None, help="where the grid is generated (default: <workdir>/data)")
  p.add_argument("--no_gif", action="store_true", help="skip the frequency-sweep GIFs")
  args, overrides = _parse(p, argv[1:])
  from decompjax.experiments import syntone as benchmark  # noqa: PLC0415 (after parsing: bad flags fail fast)
  t0 = time.time()
  out = benchmark.run_benchmark(args.workdir, seeds=args.seeds, preset=args.preset, steps=args.steps,
                                models=[m.strip() for m in args.models.split(",") if m.strip()],
                                data_dir=args.data_dir, gif=not args.no_gif, extra=overrides)
  return _print_tables(out["tables"], t0)


def _parse(p, argv: list[str]):
  """(flags, --config.a.b overrides) of a benchmark's arguments; the benchmark picks its own presets."""
  spec, overrides, rest = config_utils.split_config_args(argv)
  if spec:
    raise UsageError("benchmark picks its own presets; override fields with --config.a.b=value")
  args = p.parse_args(rest)
  if args.steps is not None and args.steps < 1:
    raise UsageError(f"--steps must be >= 1, got {args.steps}")
  return args, overrides


def _print_tables(paths: dict, t0: float) -> int:
  with open(paths["markdown"], encoding="utf-8") as f:
    print(f.read())
  print(f"benchmark finished in {time.time() - t0:.0f}s; tables: "
        + ", ".join(os.path.relpath(v) for v in paths.values()))
  return 0


CONVAE_BSS_HELP = """decompjax benchmark convae_bss --out=DIR [--preset=smoke|demo|full] [--seeds=N] [--steps=N]
                                 [--objectives=mixture_consistent,compat] [--config.a.b=value ...]

Trains the mixture-consistent ConVAE-BSS and the report's compat design over N seeds on one generated voice+music
dataset (DIR/data), evaluates each on the same test tracks with the oracle IRM ceiling and the mixture floor, and
writes runs.csv, summary.csv, table.md and table.tex into DIR: SDR improvement (NSDR) mean ± std over seeds, with
the training budget (see decompjax/experiments/convae_bss.py). Re-running reuses finished runs.
"""


def convae_bss(argv: list[str]) -> int:
  p = parsing.Parser("decompjax benchmark convae_bss", CONVAE_BSS_HELP, overrides=True)
  p.add_argument("--out", "--workdir", dest="out", default="runs/convae_bss_study", help="study folder")
  p.add_argument("--seeds", type=int, default=3, help="training seeds per objective")
  p.add_argument("--preset", default="demo", choices=("full", "demo", "smoke"),
                 help="smoke: seconds, for tests; demo: minutes on a 2-core CPU; full: the preset as shipped")
  p.add_argument("--steps", type=int, default=None, help="train steps of every run (default: the preset's)")
  p.add_argument("--objectives", default="mixture_consistent,compat", help="comma-separated subset")
  args, overrides = _parse(p, argv)
  from decompjax.experiments import convae_bss as study  # noqa: PLC0415 (after parsing: bad flags fail fast)
  t0 = time.time()
  out = study.run_study(args.out, seeds=args.seeds, preset=args.preset, steps=args.steps,
                        objectives=[o.strip() for o in args.objectives.split(",") if o.strip()], extra=overrides)
  return _print_tables(out["tables"], t0)


DECVAE_DOC = """decompjax benchmark decvae --out=DIR [--preset=smoke|demo|paper] [--methods=fd,ewt] [--nocs=3]
                             [--seeds=1] [--steps=N] [--models=...] [--baselines=PCA,ICA,raw mel]
                             [--config.a.b=value ...]

Trains and evaluates the DecVAE beta ablation and its baselines on SimVowels through the shared runner (finished
runs are reused) and writes decvae_runs.csv, decvae_table.csv, decvae_table.md and decvae_table.tex into DIR, in
the layout of the paper's Fig. 2 table (decompjax/experiments/decvae.py).
"""


def decvae(argv: list[str]) -> int:
  csv = lambda text: [t.strip() for t in text.split(",") if t.strip()]  # noqa: E731
  p = parsing.Parser("decompjax benchmark decvae", DECVAE_DOC, overrides=True)
  p.add_argument("--out", default="runs/decvae_ablation", help="where the runs and tables go")
  p.add_argument("--preset", default="demo", choices=("smoke", "demo", "paper"))
  p.add_argument("--methods", default="fd,ewt", help="decomposition methods, comma-separated")
  p.add_argument("--nocs", default="3", help="numbers of components, comma-separated")
  p.add_argument("--seeds", type=int, default=1)
  p.add_argument("--steps", type=int, default=0, help="train steps per run (0 = the preset's)")
  p.add_argument("--models", default="DecAE,DecVAE,beta-DecVAE,AE,VAE,beta-VAE")
  p.add_argument("--baselines", default="PCA,ICA,raw mel", help="'' for none")
  spec, overrides, rest = config_utils.split_config_args(argv)
  if spec:
    raise UsageError("benchmark picks its own presets; override fields with --config.a.b=value")
  args = p.parse_args(rest)
  try:
    nocs = [int(n) for n in csv(args.nocs)]
  except ValueError:
    raise UsageError(f"--nocs must be comma-separated integers, got {args.nocs!r}") from None
  from decompjax.experiments import decvae as ablation  # noqa: PLC0415 (after parsing: bad flags fail fast)
  t0 = time.time()
  out = ablation.run_ablation(ablation.Ablation(
      workdir=args.out, preset=args.preset, methods=csv(args.methods), nocs=nocs, seeds=args.seeds,
      models=csv(args.models), baselines=csv(args.baselines), steps=args.steps, extra=overrides))
  with open(out["tables"]["markdown"], encoding="utf-8") as f:
    print(f.read())
  print(f"benchmark finished in {time.time() - t0:.0f}s; tables: "
        + ", ".join(os.path.relpath(v) for v in out["tables"].values()))
  return 0
