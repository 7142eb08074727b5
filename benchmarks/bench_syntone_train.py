"""SynTone beta-VAE training throughput at batch 64: model-only and end to end from raw waveforms.

  model-only : the jitted train step on precomputed [64, 128, 32, 1] mel inputs (what the original's
               ~530 samples/s PyTorch figure measures);
  on-device  : the real train step, mel front end inside the jit, on raw [64, 16000] waveforms already on device;
  end to end : tf.data (TFDS records, shuffle, batch) -> global arrays -> the real train step, as `decompjax train`
               runs it (the original reaches ~170 clips/s here, bound by per-clip librosa).
Compile time is reported separately; steady state excludes it. Everything runs data-parallel over the mesh of
all devices, as `decompjax train` does; on a CPU host that is `--cpu_devices` virtual devices (default auto, see
decompjax/cpu_devices.py): `DECOMPJAX_CPU_DEVICES=1 python -m benchmarks.bench_syntone_train` measures one.
Run: python -m benchmarks.bench_syntone_train
"""
from __future__ import annotations

import os
import tempfile
import time

import jax
import jax.numpy as jnp
import optax

from decompjax import config_utils, cpu_devices, input_pipeline, sharding, train
from decompjax.families.syntone_vae import data as sv_data, family as sv_family, model as sv_model
from decompjax.families.syntone_vae.loss import beta_vae_loss

PRESET = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "syntone_beta_vae.py")

CPU_DEVICES = 0  # configs/syntone_*.py: mesh.cpu_devices = 0 (auto)


def _steps_per_s(fn, state, next_batch, steps, rounds):
  """Best of `rounds` windows of `steps` steps (this VM's speed varies ~15 % between windows)."""
  best = 0.0
  for _ in range(rounds):
    t0 = time.perf_counter()
    for i in range(steps):
      state, m = fn(state, next_batch(i), jax.random.key(i))
    jax.block_until_ready(m)
    best = max(best, steps / (time.perf_counter() - t0))
  return best, state


def _time(fn, state, batches, steps, rounds, warmup=3):
  t0 = time.perf_counter()
  state, m = fn(state, batches[0], jax.random.key(0))
  jax.block_until_ready(m)
  compile_s = time.perf_counter() - t0
  for i in range(warmup):  # first executions after compiling run slower (allocations, thread pools)
    state, m = fn(state, batches[i % len(batches)], jax.random.key(i))
  jax.block_until_ready(m)
  sps, state = _steps_per_s(fn, state, lambda i: batches[(i + 1) % len(batches)], steps, rounds)
  return compile_s, sps, state


def model_only_step(config, tx, mesh, state_shardings):
  """The beta-VAE train step on precomputed [B, n_mels, frames, 1] inputs (no front end), jitted over `mesh`:
  (state, x, rng) -> (state, loss)."""
  model = sv_model.make_model(config)

  def model_step(state, x, rng):
    def loss_fn(p):
      x_hat, mu, lv, _ = model.apply({"params": p}, x, rng)
      return beta_vae_loss(x_hat, x, mu, lv, config.model.beta)[0]
    loss, g = jax.value_and_grad(loss_fn)(state.params)
    upd, opt = tx.update(g, state.opt_state, state.params)
    return state.replace(params=optax.apply_updates(state.params, upd), opt_state=opt), loss

  return jax.jit(model_step, donate_argnums=0, in_shardings=(state_shardings, sharding.data_sharded(mesh), None),
                 out_shardings=(state_shardings, sharding.replicated(mesh)))


def precomputed_mels(config, mesh, host_batches) -> list:
  """The model inputs of host batches of waveforms, as batch-sharded device arrays."""
  to_mel = jax.jit(lambda w: sv_model.model_input(config, w), out_shardings=sharding.data_sharded(mesh))
  return [to_mel(sharding.to_global_batch(b, mesh)["waveform"]) for b in host_batches]


def run(steps: int = 20, batch: int = 64, rounds: int = 3) -> list[dict]:
  data_dir = os.environ.get("DECOMPJAX_BENCH_DATA", os.path.join(tempfile.gettempdir(), "decompjax_bench_data"))
  config = config_utils.build_config(PRESET + ":demo", [("data.dir", data_dir), ("train.batch_size", str(batch))])
  mesh = sharding.make_mesh()
  ds = sv_data.make_dataset(config, "train")
  it = input_pipeline.batched_numpy(ds, batch, seed=0, shuffle_buffer=10_000, cache=True)
  host_batches = [next(it) for _ in range(4)]
  example = host_batches[0]
  tx = sv_family.BETA_VAE.make_tx(config)
  state0 = sv_family.BETA_VAE.init_state(config, jax.random.key(0), example, tx)
  rows = []

  # Model only: precomputed inputs.
  mels = precomputed_mels(config, mesh, host_batches)
  state_shardings = train.make_state_shardings(state0, mesh)
  step = model_only_step(config, tx, mesh, state_shardings)
  c, sps, _ = _time(step, jax.device_put(jax.tree.map(jnp.copy, state0), state_shardings), mels, steps, rounds)
  rows += [dict(name="model-only train step", value=sps * batch, unit="examples/s"),
           dict(name="model-only compile", value=c, unit="s")]

  # Real step with the on-device mel, inputs already on device.
  step_fn = train.compile_train_step(sv_family.BETA_VAE, config, mesh, state_shardings)
  dev_batches = [sharding.to_global_batch(b, mesh) for b in host_batches]
  c, sps, state = _time(step_fn, jax.device_put(jax.tree.map(jnp.copy, state0), state_shardings), dev_batches,
                        steps, rounds)
  rows += [dict(name="train step incl. on-device mel", value=sps * batch, unit="examples/s"),
           dict(name="train step incl. mel, compile", value=c, unit="s")]

  # End to end: tf.data -> device -> step (what `decompjax train` does per step).
  sps, _ = _steps_per_s(step_fn, state, lambda i: sharding.to_global_batch(next(it), mesh), steps, rounds)
  rows.append(dict(name="end to end from raw waveforms", value=sps * batch, unit="examples/s"))
  return rows


def print_table(title: str, rows: list[dict]) -> None:
  print(f"\n{title}\n" + "-" * 72)
  for r in rows:
    print(f"{r['name']:<52} {r['value']:>10.2f} {r['unit']}")


if __name__ == "__main__":
  cpu_devices.configure(CPU_DEVICES)
  print(f"devices: {jax.devices()}  cpu count: {os.cpu_count()}")
  print_table("SynTone beta-VAE, batch 64 (reference 2-core CPU, PyTorch original: ~530 model-only, ~170 e2e)",
              run())
