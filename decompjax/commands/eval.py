"""decompjax eval --workdir=DIR [--step=N | --best] [--config.a.b=value ...]: evaluate a trained run.

Reads the config saved in DIR; --config.a.b=value sets one of its fields for this evaluation (repeatable, e.g.
--config.eval.batch_size=64). --best evaluates the best-by-validation checkpoint (DIR/checkpoints_best/, kept when
the run was trained with --config.train.keep_best_by=val/loss) instead of the latest. Writes DIR/eval/.
Restoring reads no training data.
"""
from __future__ import annotations

import json
import os

from decompjax import config_utils, cpu_devices
from decompjax.commands import parsing
from decompjax.errors import UsageError


def main(argv: list[str]) -> int:
  spec, overrides, rest = config_utils.split_config_args(argv)
  if spec:
    raise UsageError("eval reads the config saved in the workdir; override fields with --config.a.b=value")
  parser = parsing.Parser("decompjax eval", __doc__, overrides=True)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
  parser.add_argument("--best", action="store_true", help="the best-by-validation checkpoint (checkpoints_best/)")
  args = parser.parse_args(rest)
  if args.best and args.step is not None:
    raise UsageError("--best and --step name different checkpoints; give one")
  # The split is decided here, at the entry, from the run's saved config (JAX fixes it when it starts); then the
  # cluster starts as for `train`, and the run is restored onto the full mesh (every device of every host).
  cpu_devices.configure_for(config_utils.load_saved_config(os.path.join(args.workdir, "config.json"), overrides))
  from decompjax import distributed, registry, restore
  distributed.maybe_initialize()
  config, state = restore.load_run(args.workdir, args.step, overrides, best=args.best, training_mesh=True)
  from decompjax.evaluation import report
  # Every process evaluates (the model runs sharded over all of them); process 0 writes and prints.
  results = report.evaluate_and_write(registry.get_family(config.model.family), config, state, args.workdir)
  if distributed.is_writer():
    scalars = {k: v for k, v in results.items() if isinstance(v, (int, float))}
    print(json.dumps(scalars, indent=2, sort_keys=True))
    which = f"the best checkpoint (step {int(state.step)})" if args.best else f"step {int(state.step)}"
    print(f"evaluated {which}: wrote {os.path.join(args.workdir, 'eval')}/ "
          "(metrics.json, figures, audio)")
  return 0
