"""config.train.dtype=bfloat16 (decompjax/precision.py), SynTone and UCR families: each smoke preset's step computes
its convolutions and matmuls in bfloat16, keeps parameters and optimiser state float32, trains finite, and its
losses track the float32 run's on the same batches within precision_harness.REL_TOL. The speech and separation
families: tests/test_precision_speech.py."""
import pathlib

import jax.numpy as jnp
import pytest

from decompjax import config_utils, precision
from decompjax.errors import ConfigError
from tests import precision_harness as harness

NAMES = ("beta_vae", "beta_tcvae", "factor_vae", "vqvae", "barlow_vqvae")


@pytest.mark.parametrize("name", NAMES)
def test_bfloat16_step_computes_in_bf16_keeps_float32_state_and_tracks_float32(name):
  harness.check_bfloat16_tracks_float32(name)


def test_every_preset_has_the_dtype_field_and_a_bad_value_is_refused():
  for preset in sorted(p.name for p in pathlib.Path("configs").glob("*.py")):
    if preset not in ("__init__.py", "common.py", "syntone_common.py"):
      assert config_utils.build_config(f"configs/{preset}", []).train.dtype == "float32", preset
  with pytest.raises(ConfigError, match="train.dtype"):
    harness.config("beta_vae", "float16")
  assert precision.compute_dtype(harness.config("beta_vae", "bfloat16")) == jnp.bfloat16
