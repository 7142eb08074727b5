"""decompjax train --config=configs/X.py[:arg] --workdir=DIR [--config.a.b=value ...]

Trains the preset's model in DIR; re-running on the same DIR resumes from its latest checkpoint. Then evaluates
as `decompjax eval` does (DIR/eval/) unless --config.train.eval_at_end=false. Ctrl-C or SIGTERM saves the
current step, then exits (status 130 / 143).
--config=FILE[:ARG] is the preset file and its argument (e.g. --config=configs/syntone_beta_vae.py:smoke).
--config.a.b=value sets one config field (repeatable, e.g. --config.train.steps=2000); an unknown field, a wrong
type or a value outside the field's rule is an error. --cpu_devices=N|auto: JAX devices a CPU host is split into.
"""
from __future__ import annotations

import argparse
import os
import sys

from decompjax import config_utils, cpu_devices
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
  cpu_devices.configure_for(config)  # once, here at the entry: JAX fixes the split when it starts
  from decompjax import train  # after parsing: a typo fails before JAX/TF start up
  try:
    state = train.train_and_evaluate(config, args.workdir)
  except train.Terminated as stop:  # SIGTERM (a scheduler's time limit, a preempted VM): saved, then stopped
    print(f"decompjax train: terminated by SIGTERM after step {stop.step} (checkpoint in {stop.checkpoint_dir}); "
          "run the same command again to resume", file=sys.stderr)
    return stop.code
  print(f"trained {config.model.family} to step {int(state.step)}; checkpoints in {args.workdir}/checkpoints")
  if config.train.eval_at_end:
    print(f"evaluated step {int(state.step)}: wrote {os.path.join(args.workdir, 'eval')}/ "
          "(metrics.json, figures, audio)")
  return 0
