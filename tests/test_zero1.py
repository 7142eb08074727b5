"""config.mesh.shard_opt_state (ZeRO-1, sharding.zero1) and config.mesh.shard_params (FSDP): the optimizer state (and
the parameters) are split over 'data' leaf by leaf, the run equals replicated training on 8 devices, and its
checkpoints resume on another mesh and restore on one device."""
import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from decompjax import config_utils, registry, sharding, train

registry.register("toy", "tests.toy_family:TOY")


def _config(**overrides):
  pairs = [("train.progress", "false"), ("train.eval_at_end", "false"), ("train.ckpt_every", "2"),
           ("train.steps", "4")] + [(k, str(v)) for k, v in overrides.items()]
  return config_utils.build_config("tests/toy_family.py", pairs)


@pytest.mark.parametrize("shape, spec", [((32, 4), P("data", None)), ((4, 32), P(None, "data")),
                                         ((16, 64), P(None, "data")), ((24, 24), P("data", None)),
                                         ((4,), P()), ((), P()), ((12,), P())])
def test_zero1_splits_the_largest_axis_the_device_count_divides(shape, spec):
  mesh = sharding.make_mesh(8)
  assert sharding.zero1(shape, mesh).spec == spec
  assert sharding.zero1(shape, sharding.make_mesh(1)).spec == P()


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(tree))]


def test_sharded_optimizer_state_and_parameters_train_like_replicated_and_restore_anywhere(tmp_path):
  assert jax.device_count() == 8
  replicated = train.train_and_evaluate(_config(), str(tmp_path / "rep"))
  sharded = train.train_and_evaluate(_config(**{"mesh.shard_opt_state": "true"}), str(tmp_path / "z1"))

  specs = [leaf.sharding.spec for leaf in jax.tree.leaves(sharded.opt_state)]
  assert any("data" in tuple(s) for s in specs), specs          # the moments of the (32, 4) / (4, 32) kernels
  assert all(leaf.sharding.spec == P() for leaf in jax.tree.leaves(sharded.params))
  per_device = lambda tree: sum(leaf.addressable_shards[0].data.nbytes for leaf in jax.tree.leaves(tree))
  assert per_device(sharded.opt_state) < per_device(replicated.opt_state) / 4   # Adam mu, nu: 2 x ((128+128+32)/8 + 4) floats vs 2 x 292
  for a, b in zip(_leaves((replicated.params, replicated.opt_state)), _leaves((sharded.params, sharded.opt_state))):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

  fsdp = train.train_and_evaluate(_config(**{"mesh.shard_params": "true"}), str(tmp_path / "fsdp"))
  assert fsdp.params["encoder"]["kernel"].sharding.spec == P("data", None)
  assert fsdp.params["decoder"]["kernel"].sharding.spec == P(None, "data")
  for a, b in zip(_leaves((replicated.params, replicated.opt_state)), _leaves((fsdp.params, fsdp.opt_state))):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

  # The sharded run's step-4 checkpoint resumes on a 4-device mesh (sharded there too) and trains on to step 6 ...
  more = train.train_and_evaluate(_config(**{"mesh.shard_opt_state": "true", "mesh.num_devices": "4",
                                             "train.steps": "6"}), str(tmp_path / "z1"))
  assert int(more.step) == 6 and len(more.params["encoder"]["kernel"].sharding.device_set) == 4
  # ... and restores, replicated, on one device with the values it was saved with.
  config = _config(**{"mesh.shard_opt_state": "true"})
  one = train.restore_state(config, str(tmp_path / "rep"), mesh=sharding.make_mesh(1), step=4)
  back = train.restore_state(config, str(tmp_path / "z1"), mesh=sharding.make_mesh(1), step=4)
  for a, b in zip(_leaves((one.params, one.opt_state)), _leaves((back.params, back.opt_state))):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
