"""Restoring a trained run for use outside the trainer: `load_run(workdir)` -> (config, state).

The one restore path for commands that use a trained model (eval, probe, embed): the config saved in the workdir
plus validated overrides, then the trainer's `restore_state`, which builds the state's shapes from the family's
input_spec and never reads the training data. By default on a single device (inference on a few files or crops
does not need the training mesh). It does not change the CPU device split: the command's entry point decides it.
"""
from __future__ import annotations

from decompjax import config_utils, fileio, sharding, train
from decompjax.errors import ConfigError


def load_run(workdir: str, step: int | None = None, overrides=(), *, family: str | None = None, best: bool = False,
             training_mesh: bool = False):
  """-> (config, state) of `workdir`'s latest (or given) checkpoint. overrides: (dotted field, text) pairs
  applied to the saved config (validated as the CLI's). family: the model family the run must be (a run of
  another family is a ConfigError before anything is restored). best: the best-by-validation checkpoint
  (train.keep_best_by). training_mesh: restore onto the config's mesh (mesh.num_devices, mesh.model_parallel) instead of one device,
  so that evaluation runs as at the end of training."""
  config = config_utils.load_saved_config(fileio.join(workdir, "config.json"), overrides)
  if family is not None and config.model.family != family:
    raise ConfigError(f"{workdir} holds a run of family {config.model.family!r}, not {family!r}")
  mesh = sharding.config_mesh(config) if training_mesh else sharding.make_mesh(1)
  state = train.restore_state(config, workdir, mesh=mesh, step=step, best=best)
  return config, state
