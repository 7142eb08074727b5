"""One process of a local multi-process training run (the tests start N of these on localhost):

  python -m tests.multihost_runner PROCESS_ID NUM_PROCESSES PORT WORKDIR PRESET [key=value ...]

Starts jax.distributed itself (CPU backend, gloo collectives, 2 CPU devices per process) before anything
else touches JAX, then trains PRESET with the overrides, with the exit codes of `decompjax train`: 0 done,
143 stopped by SIGTERM after saving, 130 by SIGINT.
"""
from __future__ import annotations

import logging
import sys

import jax

DEVICES_PER_PROCESS = 2


def initialize(process_id: int, num_processes: int, port: int) -> None:
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.config.update("jax_num_cpu_devices", DEVICES_PER_PROCESS)
  jax.distributed.initialize(f"localhost:{port}", num_processes=num_processes, process_id=process_id)


def main(argv: list[str]) -> int:
  process_id, num_processes, port, workdir, preset = int(argv[0]), int(argv[1]), int(argv[2]), argv[3], argv[4]
  initialize(process_id, num_processes, port)
  logging.basicConfig(level=logging.INFO, format=f"[p{process_id}] %(asctime)s %(levelname)s %(name)s: %(message)s")
  from decompjax import config_utils, registry, train
  registry.register("toy", "tests.toy_family:TOY")  # tests/toy_family.py: the smallest complete family
  config = config_utils.build_config(preset, [tuple(a.split("=", 1)) for a in argv[5:]])
  try:
    state = train.train_and_evaluate(config, workdir)
  except train.Terminated as stop:
    print(f"[p{process_id}] terminated by SIGTERM after step {stop.step}", file=sys.stderr, flush=True)
    return stop.code
  except KeyboardInterrupt:
    print(f"[p{process_id}] interrupted", file=sys.stderr, flush=True)
    return 130
  print(f"[p{process_id}] trained to step {int(state.step)}", file=sys.stderr, flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
