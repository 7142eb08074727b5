"""config.mesh.model_parallel: a 2-D ('data', 'model') mesh. Batches split over 'data' only, the big parameter
and optimizer-state leaves over 'model' (sharding.leaf_sharding); training on (4, 2) and (2, 4) meshes equals
replicated 1-D training on 8 devices, its checkpoints restore on 8 devices in 1-D and on one, and a mesh the
devices or the batch do not divide is one ConfigError."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from decompjax import config_utils, registry, sharding, train
from decompjax.errors import ConfigError
from decompjax.evaluation import batching

registry.register("toy", "tests.toy_family:TOY")


def _config(**overrides):
  pairs = [("train.progress", "false"), ("train.eval_at_end", "false"), ("train.ckpt_every", "4"),
           ("train.steps", "4"), ("mesh.model_parallel_min_size", "0")] + [(k, str(v)) for k, v in overrides.items()]
  return config_utils.build_config("tests/toy_family.py", pairs)


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(tree))]


def _assert_same(a, b):
  for x, y in zip(_leaves((a.params, a.opt_state)), _leaves((b.params, b.opt_state)), strict=True):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_mesh_shapes_and_leaf_layouts():
  mesh = sharding.make_mesh(8, 2)
  assert dict(mesh.shape) == {"data": 4, "model": 2} and sharding.data_size(mesh) == 4
  assert dict(sharding.make_mesh(8, 4).shape) == {"data": 2, "model": 4}
  assert sharding.make_mesh(8, 1).axis_names == ("data",)
  spec = lambda shape, **kw: sharding.leaf_sharding(shape, mesh, **kw).spec
  assert spec((32, 64), over_data=False, model_min_size=0) == P(None, "model")   # a Dense kernel's outputs
  assert spec((32, 64), over_data=True, model_min_size=0) == P("data", "model")  # + ZeRO-1 / FSDP on the other
  assert spec((64, 3), over_data=False, model_min_size=0) == P("model", None)    # outputs odd: the inputs
  assert spec((3, 3, 16, 32), over_data=True, model_min_size=0) == P(None, None, "data", "model")
  assert spec((3, 5), over_data=True, model_min_size=0) == P()
  assert spec((64,), over_data=False, model_min_size=0) == P()                   # biases stay whole
  assert spec((32, 64), over_data=False, model_min_size=4096) == P()             # below the threshold
  assert spec((32, 64), over_data=False) == P()                                  # no tensor parallelism asked
  assert batching.batch_size_for(5, 100, mesh) == 8   # eval batches round up to the 4 'data' rows, not 8 devices


def test_batch_is_split_over_data_and_repeated_over_model():
  mesh = sharding.make_mesh(8, 2)
  x = np.arange(8 * 16, dtype=np.float32).reshape(8, 16)
  batch = sharding.to_global_batch({"x": x}, mesh)["x"]
  assert batch.sharding.spec == P("data") and batch.addressable_shards[0].data.shape == (2, 16)
  # map_batch_shards (a shard_map over 'data') on the 2-D mesh: each 'model' row computes its slice's FFT.
  step = sharding.jit_on_mesh(lambda b: sharding.map_batch_shards(lambda v: jnp.abs(jnp.fft.rfft(v)), b), mesh,
                              in_shardings=sharding.data_sharded(mesh), out_shardings=sharding.data_sharded(mesh))
  np.testing.assert_allclose(np.asarray(step(batch)), np.abs(np.fft.rfft(x)), rtol=1e-5, atol=1e-4)
  # Evaluation's batching over a 2-D mesh: 10 rows in batches of 4 (padded), parameters as an argument.
  fn = batching.mesh_jit(("test_mesh_2d.scale",), lambda: lambda w, v: v * w)
  out = batching.map_on_mesh(fn, np.float32(3), x[:, :2].repeat(2, axis=0)[:10], 4, mesh=mesh)
  np.testing.assert_allclose(out, 3 * x[:, :2].repeat(2, axis=0)[:10])


def test_2d_meshes_train_like_replicated_and_restore_on_other_meshes(tmp_path):
  assert jax.device_count() == 8
  replicated = train.train_and_evaluate(_config(), str(tmp_path / "rep"))
  two = train.train_and_evaluate(_config(**{"mesh.model_parallel": 2}), str(tmp_path / "4x2"))
  four = train.train_and_evaluate(_config(**{"mesh.model_parallel": 4, "mesh.shard_params": "true"}),
                                  str(tmp_path / "2x4"))

  kernel = two.params["encoder"]["kernel"]  # [32, 4]: split over 'model' along its 4 outputs
  assert dict(kernel.sharding.mesh.shape) == {"data": 4, "model": 2}
  assert kernel.sharding.spec == P(None, "model") and kernel.addressable_shards[0].data.shape == (32, 2)
  assert two.params["decoder"]["kernel"].sharding.spec == P(None, "model")      # [4, 32]
  assert two.params["encoder"]["bias"].sharding.spec == P()
  moments = [leaf for leaf in jax.tree.leaves(two.opt_state) if leaf.shape == (32, 4)]  # Adam's mu and nu
  assert len(moments) == 2, jax.tree.map(jnp.shape, two.opt_state)
  for m in moments:  # follow their parameter
    assert m.sharding.spec == P(None, "model") and m.addressable_shards[0].data.shape == (32, 2)
  # (2, 4) with FSDP: 'model' along the outputs, 'data' along the inputs; each device holds 1/8 of the kernel.
  kernel = four.params["encoder"]["kernel"]
  assert kernel.sharding.spec == P("data", "model") and kernel.addressable_shards[0].data.shape == (16, 1)
  assert four.params["decoder"]["kernel"].sharding.spec == P("data", "model")
  _assert_same(replicated, two)
  _assert_same(replicated, four)

  # The (4, 2) run's step-4 checkpoint restores on the 1-D 8-device mesh and on one device with its values.
  config = _config(**{"mesh.model_parallel": 2})
  for mesh in (sharding.make_mesh(8), sharding.make_mesh(1)):
    back = train.restore_state(config, str(tmp_path / "4x2"), mesh=mesh, step=4)
    assert back.params["encoder"]["kernel"].sharding.mesh.shape == mesh.shape
    _assert_same(replicated, back)
  # ... and the default restore mesh of a 2-D config is its 2-D mesh.
  back = train.restore_state(config, str(tmp_path / "rep"), step=4)
  assert dict(back.params["encoder"]["kernel"].sharding.mesh.shape) == {"data": 4, "model": 2}
  _assert_same(replicated, back)


def test_a_mesh_the_devices_or_the_batch_do_not_divide_is_one_config_error(tmp_path):
  with pytest.raises(ConfigError, match=r"'mesh.model_parallel' = 3: must divide mesh.num_devices \(8\)"):
    _config(**{"mesh.model_parallel": 3, "mesh.num_devices": 8})
  with pytest.raises(ConfigError, match=r"'train.batch_size' = 6: must be a multiple of the mesh's 'data' axis \(4"):
    _config(**{"mesh.model_parallel": 2, "mesh.num_devices": 8, "train.batch_size": 6})
  with pytest.raises(ConfigError, match="'mesh.model_parallel' = 0: must be >= 1"):
    _config(**{"mesh.model_parallel": 0})
  # num_devices = 0 (every device): checked once the devices are known, before the workdir is created.
  with pytest.raises(ConfigError, match=r"'mesh.model_parallel' = 3: must divide the 8 devices"):
    train.train_and_evaluate(_config(**{"mesh.model_parallel": 3}), str(tmp_path / "bad"))
  with pytest.raises(ConfigError, match=r"not divisible by the 2 rows of the mesh's 'data' axis \(8 devices / "
                                        r"mesh.model_parallel=4\)"):
    train.train_and_evaluate(_config(**{"mesh.model_parallel": 4, "train.batch_size": 5}), str(tmp_path / "bad"))
  assert not (tmp_path / "bad").exists()
