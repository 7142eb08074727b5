"""decompjax train --config=configs/X.py[:arg] --workdir=DIR [--config.a.b=value ...]"""
from __future__ import annotations

import argparse

from decompjax import config_utils
from decompjax.errors import UsageError


def parse(argv: list[str], prog: str):
  spec, overrides, rest = config_utils.split_config_args(argv)
  parser = argparse.ArgumentParser(prog=prog, description=__doc__)
  parser.add_argument("--workdir", required=True)
  args, unknown = parser.parse_known_args(rest)
  if unknown:
    raise UsageError(f"unrecognised arguments: {' '.join(unknown)}")
  if not spec:
    raise UsageError("--config=configs/<preset>.py[:arg] is required")
  return config_utils.build_config(spec, overrides), args


def main(argv: list[str]) -> int:
  config, args = parse(argv, "decompjax train")
  from decompjax import train  # after parsing: a typo fails before JAX/TF start up
  state = train.train_and_evaluate(config, args.workdir)
  print(f"trained {config.model.family} to step {int(state.step)}; checkpoints in {args.workdir}/checkpoints")
  return 0
