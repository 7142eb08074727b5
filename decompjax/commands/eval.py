"""decompjax eval --workdir=DIR [--step=N] [--config.a.b=value ...]: evaluate a trained run.

Reads the config saved in DIR; --config.a.b=value sets one of its fields for this evaluation (repeatable, e.g.
--config.eval.batch_size=64). --cpu_devices=N|auto: JAX devices a CPU host is split into.
"""
from __future__ import annotations

import argparse
import json
import os

from decompjax import config_utils
from decompjax.errors import UsageError


def main(argv: list[str]) -> int:
  spec, overrides, rest = config_utils.split_config_args(argv)
  if spec:
    raise UsageError("eval reads the config saved in the workdir; override fields with --config.a.b=value")
  parser = argparse.ArgumentParser(prog="decompjax eval", description=__doc__)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
  args, unknown = parser.parse_known_args(rest)
  if unknown:
    raise UsageError(f"unrecognised arguments: {' '.join(unknown)}")
  config = config_utils.load_saved_config(os.path.join(args.workdir, "config.json"))
  for key, value in overrides:
    config_utils.apply_override(config, key, value)
  from decompjax import registry, train
  state = train.restore_state(config, args.workdir, step=args.step)
  results = registry.get_family(config.model.family).evaluate(config, state, args.workdir)
  scalars = {k: v for k, v in results.items() if isinstance(v, (int, float))}
  print(json.dumps(scalars, indent=2, sort_keys=True))
  print(f"wrote {os.path.join(args.workdir, 'eval')}/ (metrics.json, figures, audio)")
  return 0
