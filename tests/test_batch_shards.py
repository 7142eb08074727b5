"""Batch-parallel work stays batch-parallel on a mesh: per-device FFTs (sharding.map_batch_shards) give the
same values as on one device, and no batch-parallel train step gathers the batch onto every device."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from decompjax import config_utils, input_pipeline, registry, sharding, train


def _power_spectrum(x):
  return jnp.abs(jnp.fft.rfft(x, axis=-1)) ** 2


def _per_device_spectrum(x):
  return sharding.map_batch_shards(_power_spectrum, x)


@pytest.mark.parametrize("batch", [16, 12])  # 12 does not divide over 8 devices: falls back to the plain call
def test_map_batch_shards_equals_plain_and_does_not_gather(batch):
  mesh = sharding.make_mesh(8)
  x = np.random.default_rng(0).standard_normal((batch, 3, 64)).astype(np.float32)
  expected = _power_spectrum(x)
  if batch % 8:
    step = sharding.jit_on_mesh(_per_device_spectrum, mesh)
    np.testing.assert_allclose(step(x), expected, rtol=1e-5, atol=1e-5)
    return
  step = sharding.jit_on_mesh(_per_device_spectrum, mesh, in_shardings=sharding.data_sharded(mesh),
                              out_shardings=sharding.data_sharded(mesh))
  np.testing.assert_allclose(step(x), expected, rtol=1e-5, atol=1e-5)
  assert "all-gather" not in step.lower(x).compile().as_text()
  # The same function jitted without the mesh context: the partitioner gathers the batch for the FFT.
  plain = jax.jit(_per_device_spectrum, in_shardings=sharding.data_sharded(mesh),
                  out_shardings=sharding.data_sharded(mesh))
  assert "all-gather" in plain.lower(x).compile().as_text()


def test_without_a_mesh_it_is_the_plain_function():
  x = np.random.default_rng(1).standard_normal((5, 32)).astype(np.float32)
  np.testing.assert_allclose(jax.jit(_per_device_spectrum)(x), _power_spectrum(x), rtol=1e-6)


@pytest.mark.parametrize("preset", ["syntone_beta_vae.py:smoke", "vqvae_ucr.py:smoke", "barlow_vqvae_ucr.py:smoke"])
def test_batch_parallel_train_steps_have_no_all_gather(preset, tmp_path):
  # These losses need no cross-example gather (their batch statistics are all-reduced means); the
  # FFTs of the mel front end, the STFT model and the STFT augmentation used to gather the whole batch.
  overrides = [("data.dir", str(tmp_path))] if preset.startswith("syntone") else []
  config = config_utils.build_config(f"configs/{preset}", overrides)
  family = registry.get_family(config.model.family)
  mesh = sharding.make_mesh(8)
  ds = family.make_dataset(config, "train", process_index=0, process_count=1)
  batch = input_pipeline.first_example_batch(ds, config.train.batch_size)
  abstract = train.abstract_state(family, config, batch)
  step = train.compile_train_step(family, config, mesh, train.make_state_shardings(abstract, mesh))
  spec = jax.tree.map(lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype), batch)
  hlo = step.lower(abstract, spec, jax.random.key(0)).compile().as_text()
  assert not re.findall(r"= \S+ all-gather\(", hlo)
