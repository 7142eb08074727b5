"""ConVAE-BSS through the generic trainer: the smoke preset trains to finite parameters on generated SynMix data,
validates (loss + SI-SDR) and keeps the best-by-validation checkpoint; one step on 1 and 8 devices agrees."""
from __future__ import annotations

import jax
import numpy as np

from decompjax import config_utils, metric_writer, registry, sharding, train

PRESET = "configs/convae_bss_synmix.py:smoke"


def test_smoke_trains_finite_and_keeps_the_best_by_validation(tmp_path):
  work = str(tmp_path / "run")
  config = config_utils.build_config(PRESET, [("data.cache_dir", str(tmp_path / "data")),
                                              ("mesh.num_devices", "1"), ("train.eval_at_end", "false")])
  state = train.train_and_evaluate(config, work)
  assert int(state.step) == config.train.steps
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state.params))
  rows = metric_writer.read_metrics(work)
  assert all(np.isfinite(r["loss"]) and np.isfinite(r["kl"]) for r in rows if "loss" in r)
  val = [r for r in rows if "val/si_sdr" in r]
  assert len(val) == config.train.steps // config.train.eval_every
  assert all(np.isfinite(r["val/loss"]) and np.isfinite(r["val/si_sdri"]) for r in val)
  best = train.read_best_record(work)
  assert best["metric"] == "si_sdr" and best["mode"] == "max"
  assert best["value"] == max(r["val/si_sdr"] for r in val)
  restored = train.restore_state(config, work, best=True)
  assert int(restored.step) == best["step"]


def test_one_step_on_one_and_eight_devices_agrees():
  assert jax.device_count() == 8, "conftest forces 8 CPU devices"
  config = config_utils.build_config(PRESET, [])
  family = registry.get_family("convae_bss")
  rng = np.random.default_rng(0)
  n = int(config.data.seconds * config.audio.sample_rate)
  voice = rng.normal(size=(8, n)).astype(np.float32) * 0.1
  music = np.sin(np.arange(n) * 0.3)[None].repeat(8, 0).astype(np.float32) * 0.2
  batch = {"mixture": voice + music, "voice": voice, "music": music}
  tx = family.make_tx(config)
  init = jax.jit(lambda r: family.init_state(config, r, family.example_batch(config), tx))(jax.random.key(0))
  abstract = train.abstract_state(family, config, family.example_batch(config), tx)
  out = {}
  for devices in (1, 8):
    mesh = sharding.make_mesh(devices)
    shardings = train.make_state_shardings(abstract, mesh)
    step = train.compile_train_step(family, config, mesh, shardings, tx)
    state = jax.device_put(jax.tree.map(np.asarray, init), shardings)
    new, metrics = step(state, sharding.to_global_batch(batch, mesh), jax.random.key(1))
    out[devices] = jax.device_get((new.params, metrics))
  for a, b in zip(jax.tree.leaves(out[1]), jax.tree.leaves(out[8])):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6)
  assert not np.allclose(out[1][0]["decoder_0"]["post_1"]["kernel"],
                         jax.device_get(init.params)["decoder_0"]["post_1"]["kernel"])  # it updated
