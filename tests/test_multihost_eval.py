"""Evaluation over the mesh (issue 13 §4), in process with the 8 forced CPU devices.

For every family's smoke preset, the model application evaluation runs (SynTone encode/decode, VQ-VAE and Barlow
eval outputs, Autodecompose encoders and reconstruction loss, DecVAE and FC-VAE encoders, ConVAE-BSS separation)
gives the same numbers on a 1-device mesh and on the 8-device mesh (rtol 1e-5, atol 1e-5: the same per-example
arithmetic, only the batch partition differs), with a batch size that does not divide the mesh; and a second
checkpoint (other parameter values, same shapes) evaluates with no new compilation or trace at all, because the
parameters are arguments of a cached jitted function rather than constants baked into it. States are seeded
random parameters of each preset's shapes (no training: what is checked is how the model is applied).
"""
from __future__ import annotations

import contextlib
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from decompjax import config_utils, registry, sharding, train
from decompjax.evaluation import batching

RTOL = ATOL = 1e-5
COMPILE_EVENTS = ("/jax/core/compile/backend_compile_duration", "/jax/core/compile/jaxpr_trace_duration")


@contextlib.contextmanager
def count_compilations():
  """Counts XLA compilations and jaxpr traces inside the block (jax.monitoring events)."""
  counts = {e: 0 for e in COMPILE_EVENTS}

  def listener(event, duration, **kwargs):
    if event in counts:
      counts[event] += 1

  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    yield counts
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)


def preset(name: str, *pairs):
  file, _, arg = name.partition(":")
  return config_utils.build_config(config_utils.preset_path(file) + (f":{arg}" if arg else ""), list(pairs))


def random_state(config, seed: int, mesh):
  """A state of the preset's shapes (traced, never compiled) with seeded values, replicated on `mesh` as a
  restore places it: parameters N(0, 0.1), model state (BatchNorm statistics) in [0.5, 1.5]."""
  family = registry.get_family(config.model.family)
  abstract = train.abstract_state(family, config, family.example_batch(config))
  rng = np.random.default_rng(seed)

  def fill(s, low=None):
    if not jnp.issubdtype(s.dtype, jnp.floating):
      return np.zeros(s.shape, s.dtype)
    v = rng.uniform(low, low + 1.0, s.shape) if low is not None else rng.normal(0.0, 0.1, s.shape)
    return v.astype(s.dtype)

  state = dataclasses.replace(abstract, step=np.int32(seed), params=jax.tree.map(fill, abstract.params),
                              opt_state=jax.tree.map(fill, abstract.opt_state),
                              model_state=jax.tree.map(lambda s: fill(s, 0.5), abstract.model_state))
  return jax.device_put(state, sharding.replicated(mesh))


def random_inputs(config, n: int, seed: int = 0) -> dict:
  """n examples shaped like the family's input_spec: normal values, masks and validity flags 1."""
  family = registry.get_family(config.model.family)
  rng = np.random.default_rng(seed)
  out = {}
  for k, s in family.example_batch(config).items():
    shape = (n,) + tuple(s.shape[1:])
    if "mask" in k or "valid" in k:
      out[k] = np.ones(shape, s.dtype)
    elif jnp.issubdtype(s.dtype, jnp.floating):
      out[k] = rng.normal(0.0, 0.3, shape).astype(s.dtype)
    else:
      out[k] = np.zeros(shape, s.dtype)
  return out


def assert_trees_close(a, b):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_allclose(np.asarray(x, np.float64), np.asarray(y, np.float64), rtol=RTOL, atol=ATOL)


def check_mesh_invariance_and_one_compilation(config, run):
  """run(state) -> outputs (numpy pytree): equal on 1 and 8 devices; a second state compiles nothing new."""
  one, eight = sharding.make_mesh(1), sharding.make_mesh(8)
  assert eight.devices.size == 8
  out_1 = run(random_state(config, 1, one))
  out_8 = run(random_state(config, 1, eight))
  assert_trees_close(out_1, out_8)
  second = random_state(config, 2, eight)
  with count_compilations() as counts:
    out_8b = run(second)
  assert counts == {e: 0 for e in COMPILE_EVENTS}, counts
  assert any(not np.allclose(x, y) for x, y in zip(jax.tree.leaves(out_8), jax.tree.leaves(out_8b)))
  return out_8


# ---------------------------------------------------------------------------------------------- the helper
def test_map_on_mesh_pads_shards_and_replicates_outputs():
  mesh = sharding.make_mesh(8)
  run = batching.mesh_jit(("test.affine",), lambda: lambda p, b: {"y": b["x"] * p["w"] + p["b"],
                                                                    "rowsum": b["x"].sum(1)})
  x = np.arange(13 * 3, dtype=np.float32).reshape(13, 3)
  params = {"w": np.float32(2.0), "b": np.float32(1.0)}
  out = batching.map_on_mesh(run, params, {"x": x}, batch_size=5, mesh=mesh)  # 5 -> 8 rows, 2 batches
  np.testing.assert_array_equal(out["y"], 2 * x + 1)
  np.testing.assert_array_equal(out["rowsum"], x.sum(1))
  assert batching.batch_size_for(5, 13, mesh) == 8 and batching.batch_size_for(64, 3, mesh) == 8
  with count_compilations() as counts:  # new parameter values, a shorter input in exact mode: nothing new
    out = batching.map_on_mesh(run, {"w": np.float32(3.0), "b": np.float32(0.0)}, {"x": x[:3]}, batch_size=5,
                               mesh=mesh, exact=True)
  np.testing.assert_array_equal(out["y"], 3 * x[:3])
  assert counts["/jax/core/compile/backend_compile_duration"] == 0
  assert batching.mesh_jit(("test.affine",), lambda: pytest.fail("rebuilt a cached function")) is run


def test_map_on_mesh_masked_keeps_padding_out_of_batch_statistics():
  mesh = sharding.make_mesh(8)

  def build():
    def batch_mean(p, b, valid):
      w = valid.astype(b.dtype)[:, None]
      return jnp.broadcast_to(jnp.sum(b * w, axis=0) / jnp.sum(w), b.shape) * p
    return batch_mean

  run = batching.mesh_jit(("test.batch_mean",), build)
  x = np.arange(1, 12, dtype=np.float32).reshape(11, 1)
  out = batching.map_on_mesh(run, np.float32(1.0), x, batch_size=8, mesh=mesh, masked=True)
  np.testing.assert_allclose(out[:8], np.full((8, 1), x[:8].mean()))
  np.testing.assert_allclose(out[8:], np.full((3, 1), x[8:].mean()))


def test_state_mesh_is_where_the_state_lives():
  mesh = sharding.make_mesh(8)
  tree = jax.device_put({"w": np.ones(3)}, sharding.replicated(mesh))
  assert batching.state_mesh(tree).devices.size == 8
  assert batching.state_mesh({"w": np.ones(3)}).devices.size == 1


# ------------------------------------------------------------------------------------------- the families
def test_syntone_encode_and_decode():
  from decompjax.families.syntone_vae import evaluate as sv_eval
  config = preset("syntone_beta_vae.py:smoke")
  waves = random_inputs(config, 13)["waveform"]

  def run(state):
    x, mu, logvar, x_hat = sv_eval.encode_dataset(config, state.params, waves, batch_size=5)
    decode = sv_eval.decoder(config)
    z = np.asarray(np.random.default_rng(0).normal(size=(3, mu.shape[1])), np.float32)
    mesh = batching.state_mesh(state.params)
    dec = np.asarray(batching.call_on_mesh(decode, mesh, batching.replicate(state.params, mesh),
                                           batching.replicate(z, mesh)))
    return x, mu, logvar, x_hat, dec

  x, mu, *_ = check_mesh_invariance_and_one_compilation(config, run)
  assert x.shape[0] == mu.shape[0] == 13


@pytest.mark.parametrize("name", ["vqvae_ucr.py:smoke", "barlow_vqvae_ucr.py:smoke"])
def test_vqvae_eval_outputs(name):
  from decompjax.families.vqvae import evaluate as vq_eval
  from decompjax.families.vqvae import model as vq_model
  config = preset(name)
  apply_fn = vq_model.eval_apply_barlow if config.model.family == "barlow_vqvae" else vq_model.eval_apply
  x = _vq_series(config, 11)
  out = check_mesh_invariance_and_one_compilation(
      config, lambda state: vq_eval.encode_all(apply_fn, config, state, x, batch_size=6))
  assert out["z_q"].shape[0] == 11 and np.all(np.isfinite(out["mse_time"]))


def _vq_series(config, n):
  """n random series shaped like the VQ-VAE's model input (the family's example batch, any field name)."""
  example = registry.get_family(config.model.family).example_batch(config)
  field = next(k for k, s in example.items() if jnp.issubdtype(s.dtype, jnp.floating))
  return random_inputs(config, n)[field]


def test_autodecompose_encoders_and_reconstruction_loss():
  from decompjax.families.autodecompose import evaluate as ad_eval
  config = preset("autodecompose.py:smoke")
  mels = np.abs(random_inputs(config, 10)["mel"])

  def run(state):
    out = {enc: ad_eval.encode(config, state, mels, enc, batch_size=3) for enc in ("voice", "content")}
    out["recon_sharded"] = np.float64(ad_eval.reconstruction_mse(config, state, mels, batch_size=8))
    out["recon_replicated"] = np.float64(ad_eval.reconstruction_mse(config, state, mels, batch_size=5))
    return out

  out = check_mesh_invariance_and_one_compilation(config, run)
  assert out["voice"].shape[0] == 10 and np.isfinite(out["recon_sharded"])


@pytest.mark.parametrize("name", ["decvae_simvowels.py:smoke", "decvae_fc_vae.py:smoke"])
def test_decvae_encoders(name):
  from decompjax.families.decvae import evaluate as dv_eval
  config = preset(name)
  encode_fn = None
  if config.model.family != "decvae":
    from decompjax.families.decvae import fc_vae
    encode_fn = fc_vae.encode
  arrays = random_inputs(config, 5)
  out = check_mesh_invariance_and_one_compilation(
      config, lambda state: dv_eval.model_encoder(config, state, encode_fn)(arrays, 3))
  assert all(len(v) == 5 for v in jax.tree.leaves(out))


def test_convae_bss_separation_windows():
  from decompjax.families.convae_bss import separate as sep
  config = preset("convae_bss_synmix.py:smoke")
  window = sep.window_length(config)
  windows = np.random.default_rng(0).normal(0, 0.1, (5, window)).astype(np.float32)
  out = check_mesh_invariance_and_one_compilation(config, lambda state: sep.model_window_fn(config, state)(windows))
  assert out.shape == (5, 2, window)


# ------------------------------------------------------------------------------------------- the commands
def _save_run(config, workdir, step: int = 3):
  """A workdir as `train` leaves it (config.json + one checkpoint of seeded random weights), without training."""
  from decompjax import checkpointing
  workdir.mkdir(parents=True, exist_ok=True)
  config_utils.save_config(config, str(workdir / "config.json"))
  state = dataclasses.replace(random_state(config, 1, sharding.make_mesh(1)), step=np.int32(step))
  ckpt = checkpointing.Checkpointer(train.checkpoint_dir(str(workdir)))
  try:
    ckpt.save(step, state, config.model.family)
  finally:
    ckpt.close()
  return workdir


@pytest.fixture(scope="module")
def ad_run(tmp_path_factory):
  base = tmp_path_factory.mktemp("ad_eval")
  config = preset("autodecompose.py:smoke", ("data.cache_dir", str(base / "data")), ("probe.seeds", "1"),
                  ("probe.tsne_points", "0"))
  return _save_run(config, base / "run")


@pytest.fixture
def tone_file(tmp_path):
  import soundfile as sf
  t = np.arange(int(1.6 * 16000)) / 16000
  path = tmp_path / "tone.wav"
  sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
  return path


def test_eval_starts_the_cluster_and_evaluates_on_the_full_mesh(ad_run, monkeypatch, capsys):
  from decompjax import cli, distributed
  from decompjax.evaluation import report
  started, meshes = [], []
  real_init, real_eval = distributed.maybe_initialize, report.evaluate_and_write
  monkeypatch.setattr(distributed, "maybe_initialize", lambda: (started.append(True), real_init())[1])

  def spy(family, config, state, workdir):
    meshes.append(batching.state_mesh(state.params).devices.size)
    return real_eval(family, config, state, workdir)

  monkeypatch.setattr(report, "evaluate_and_write", spy)
  assert cli.main(["eval", f"--workdir={ad_run}"]) == 0
  assert started and meshes == [8]  # every visible device (config.mesh.num_devices = 0), not one
  assert (ad_run / "eval" / "metrics.json").is_file() and "evaluated step 3" in capsys.readouterr().out


def test_other_processes_compute_but_write_and_print_nothing(ad_run, tone_file, tmp_path, monkeypatch, capsys):
  import shutil

  from decompjax import cli, distributed
  shutil.rmtree(ad_run / "eval", ignore_errors=True)
  monkeypatch.setattr(distributed, "is_writer", lambda: False)  # as on process 1 of a cluster
  out = tmp_path / "out"
  assert cli.main(["eval", f"--workdir={ad_run}"]) == 0
  assert cli.main(["probe", "speaker", f"--workdir={ad_run}", f"--out={out}"]) == 0
  assert cli.main(["embed", f"--workdir={ad_run}", "--encoder=voice", f"--out={out}", str(tone_file)]) == 0
  assert capsys.readouterr().out == ""
  assert not (ad_run / "eval").exists() and not out.exists()
  monkeypatch.setattr(distributed, "is_writer", lambda: True)  # process 0: the same commands write
  assert cli.main(["embed", f"--workdir={ad_run}", "--encoder=voice", f"--out={out}", str(tone_file)]) == 0
  assert np.load(out / "tone.voice.npy").ndim == 3 and "tone.voice.npy" in capsys.readouterr().out


def test_separate_writes_on_process_0_only(tmp_path, tone_file, monkeypatch, capsys):
  from decompjax import cli, distributed
  run = _save_run(preset("convae_bss_synmix.py:smoke", ("data.cache_dir", str(tmp_path / "data"))),
                  tmp_path / "bss")
  monkeypatch.setattr(distributed, "is_writer", lambda: False)
  assert cli.main(["separate", f"--workdir={run}", f"--out={tmp_path / 'sep'}", str(tone_file)]) == 0
  assert capsys.readouterr().out == "" and not (tmp_path / "sep").exists()
  monkeypatch.setattr(distributed, "is_writer", lambda: True)
  assert cli.main(["separate", f"--workdir={run}", f"--out={tmp_path / 'sep'}", str(tone_file)]) == 0
  assert (tmp_path / "sep" / "tone" / "voice.wav").is_file() and "voice.wav" in capsys.readouterr().out


# ------------------------------------------------------------------------------- two real processes (gloo)
@pytest.mark.multihost
def test_eval_and_embed_on_two_processes_match_one_and_only_process_0_writes(tmp_path, tone_file):
  """`decompjax eval` and `embed` as 2 processes x 2 CPU devices (jax.distributed on localhost): the metrics and
  embeddings equal this process's 8-device results, and process 1 writes no file at all."""
  import json

  from decompjax import cli
  from decompjax.commands import embed
  from decompjax.families.autodecompose import data
  from tests.multihost import harness
  config = preset("autodecompose.py:smoke", ("data.cache_dir", str(tmp_path / "data")), ("probe.seeds", "1"),
                  ("probe.tsne_points", "0"))
  data.prepare_data(config)  # the shared data folder every process reads
  one, two = _save_run(config, tmp_path / "one"), _save_run(config, tmp_path / "two")  # the same weights
  assert cli.main(["eval", f"--workdir={one}"]) == 0
  expected_embedding = embed.embed(str(one), [str(tone_file)], "voice")

  group = harness.start("eval", ["eval", f"--workdir={two}"], tmp_path, processes=2).ok(timeout=600)
  writes = group.writes()
  assert writes[1] == set(), writes[1]
  assert str((two / "eval" / "metrics.json").resolve()) in writes[0]
  assert "evaluated step 3" in group.log(0) and "evaluated step" not in group.log(1)
  got, want = (json.loads((w / "eval" / "metrics.json").read_text()) for w in (two, one))
  assert sorted(got) == sorted(want)
  for key, value in want.items():
    if isinstance(value, float):
      np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, err_msg=key)

  out = tmp_path / "emb"
  group = harness.start("embed", ["embed", f"--workdir={two}", "--encoder=voice", f"--out={out}", str(tone_file)],
                        tmp_path, processes=2).ok(timeout=600)
  assert group.writes()[1] == set()
  np.testing.assert_allclose(np.load(out / "tone.voice.npy"), expected_embedding, rtol=1e-5, atol=1e-6)
