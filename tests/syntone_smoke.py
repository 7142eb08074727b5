"""The SynTone smoke preset as the trainer tests use it: data in a test's tmp dir, no progress bar, no final eval."""
import jax
import numpy as np

from decompjax import config_utils

PRESET = "configs/syntone_beta_vae.py:smoke"


def make_config(data_dir, **overrides):
  pairs = [("data.dir", data_dir), ("train.progress", "false"), ("train.eval_at_end", "false")]
  pairs += [(k, str(v)) for k, v in overrides.items()]
  return config_utils.build_config(PRESET, pairs)


def params_of(state):
  return jax.tree.map(np.asarray, jax.device_get(state.params))
