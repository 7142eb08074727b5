"""decompjax compare (--workdirs RUN1 RUN2 ... | --glob 'runs/*') --out=DIR [--max_examples=N] [--max_points=N]
[--seed=S] [--sampler_points=N] [--dci_trees=N]

One leaderboard over trained runs of any family. Every run is restored (latest checkpoint) and encodes its
evaluation data; runs are grouped by the data they share (SynTone grid, UCR set, speech corpus, mixtures; and the
unit a latent row stands for), and every run of a group is scored on the same examples with the same seed:
logistic probes of each label, the disentanglement metric suite where the data has ground-truth factors, the
unsupervised latent scores, and the family's own scores on those examples (ConVAE-BSS: BSS Eval). Runs on
different data are never put in one table; a metric a run cannot have is blank, with its reason.
Writes DIR/leaderboard.md, leaderboard.csv, leaderboard.html (self-contained: plots and audio embedded),
group<i>_bars.png and group<i>_radar.png.
"""
from __future__ import annotations

from decompjax import config_utils, cpu_devices, fileio
from decompjax.commands import parsing
from decompjax.errors import UsageError


def parse(argv):
  p = parsing.Parser("decompjax compare", __doc__)
  p.add_argument("--workdirs", nargs="+", default=[], metavar="RUN", help="run folders (each with config.json)")
  p.add_argument("--glob", default=None, help="a pattern of run folders, e.g. 'runs/*' (quote it)")
  p.add_argument("--out", required=True, help="output folder")
  p.add_argument("--max_examples", type=int, default=2000, help="examples each run encodes per latent set")
  p.add_argument("--max_points", type=int, default=2000, help="shared examples scored per group (seeded subsample)")
  p.add_argument("--seed", type=int, default=0, help="seed of the subsample, the probe split and the metrics")
  p.add_argument("--sampler_points", type=int, default=1000,
                 help="training points of the FactorVAE / BetaVAE scores (where the data covers the factor grid)")
  p.add_argument("--dci_trees", type=int, default=100,
                 help="gradient-boosted trees per factor for DCI's importances (100: disentanglement_lib's)")
  args = p.parse_args(argv)
  if args.dci_trees < 1:
    raise UsageError(f"--dci_trees={args.dci_trees}: must be >= 1")
  for flag in ("max_examples", "max_points", "sampler_points"):
    if getattr(args, flag) < 2:
      raise UsageError(f"--{flag}={getattr(args, flag)}: must be >= 2")
  return args


def main(argv: list[str]) -> int:
  args = parse(argv)  # bad flags fail before JAX starts
  from decompjax.experiments import compare
  workdirs = compare.resolve_workdirs(args.workdirs, args.glob)
  # The CPU split is fixed once, at the entry, from the first run's saved config (each run restores on one device).
  cpu_devices.configure_for(config_utils.load_saved_config(fileio.join(workdirs[0], "config.json")))
  groups = compare.compare(workdirs, args.out, max_examples=args.max_examples, max_points=args.max_points,
                           seed=args.seed, sampler_points=args.sampler_points, dci_trees=args.dci_trees)
  print(fileio.read_text(fileio.join(args.out, "leaderboard.md")), end="")
  print(f"compared {len(workdirs)} run(s) in {len(groups)} data group(s): wrote {args.out}/ "
        f"({', '.join(compare.FILES)}, plots)")
  return 0
