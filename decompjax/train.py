"""The generic training loop: `train_and_evaluate(config, workdir)` drives any registered family.

Owns what every family shares: the ('data',) mesh, the input pipeline, jit with donated state, orbax
checkpoints (resume, keep-last-N, restore onto another device count), logging, and faults (NaN/Inf stops the
run and keeps the last good checkpoint; Ctrl-C saves before exiting).
"""
from __future__ import annotations

import logging
import os
import time

import jax
import ml_collections
import numpy as np

from decompjax import checkpointing, config_utils, cpu_devices, distributed, input_pipeline, registry, sharding
from decompjax.errors import NonFiniteLossError
from decompjax.families.base import TrainState
from decompjax.metric_writer import MetricWriter

log = logging.getLogger(__name__)


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(workdir, "checkpoints")


def make_state_shardings(abstract_state, mesh):
  """Every state leaf replicated (data parallelism); one place to change for model sharding."""
  return jax.tree.map(lambda _: sharding.replicated(mesh), abstract_state)


def compile_train_step(family, config, mesh, state_shardings):
  return sharding.jit_on_mesh(family.make_train_step(config), mesh,
                              in_shardings=(state_shardings, sharding.data_sharded(mesh), sharding.replicated(mesh)),
                              out_shardings=(state_shardings, sharding.replicated(mesh)),
                              donate_argnums=(0,))


def abstract_state(family, config, example_batch):
  """The TrainState of `family` as ShapeDtypeStructs (nothing allocated)."""
  return jax.eval_shape(lambda rng, b: family.init_state(config, rng, b), jax.random.key(0), example_batch)


def restore_state(config: ml_collections.ConfigDict, workdir: str, mesh=None, step: int | None = None) -> TrainState:
  """Restores the latest (or given) checkpoint of `workdir` onto `mesh` (default: all devices)."""
  cpu_devices.configure_for(config)  # before anything starts JAX
  family = registry.get_family(config.model.family)
  mesh = mesh or sharding.make_mesh(config.mesh.num_devices)
  ds = family.make_dataset(config, "train", process_index=jax.process_index(), process_count=jax.process_count())
  example = input_pipeline.first_example_batch(ds, 1)
  abstract = abstract_state(family, config, example)
  ckpt = checkpointing.Checkpointer(checkpoint_dir(workdir), keep=config.train.keep_ckpts)
  try:
    if ckpt.latest_step() is None:
      raise FileNotFoundError(f"no checkpoint in {checkpoint_dir(workdir)}: train first")
    ckpt.check_compatible(family.name, abstract, step)
    return ckpt.restore(checkpointing.abstract_with_sharding(abstract, sharding.replicated(mesh)), step)
  finally:
    ckpt.close()


def _init_from(config, family, abstract, state, mesh):
  """Fine-tuning: take params (and model_state) from another workdir's latest checkpoint."""
  src = checkpoint_dir(config.init_from)
  other = checkpointing.Checkpointer(src, keep=config.train.keep_ckpts)
  try:
    if other.latest_step() is None:
      raise FileNotFoundError(f"config.init_from={config.init_from!r}: no checkpoint in {src}")
    other.check_compatible(family.name, abstract)
    loaded = other.restore(checkpointing.abstract_with_sharding(abstract, sharding.replicated(mesh)))
  finally:
    other.close()
  log.info("initialised params from %s (step %s)", src, int(loaded.step))
  return state.replace(params=loaded.params, model_state=loaded.model_state)


def _fetch(metrics) -> dict[str, float]:
  return {k: float(v) for k, v in jax.device_get(metrics).items()}


def _run_validation(eval_step, state, val_iter, mesh, rng, num_batches) -> dict[str, float]:
  sums: dict[str, float] = {}
  for i in range(num_batches):
    batch = sharding.to_global_batch(next(val_iter), mesh)
    for k, v in _fetch(eval_step(state, batch, jax.random.fold_in(rng, i))).items():
      sums[k] = sums.get(k, 0.0) + v
  return {k: v / num_batches for k, v in sums.items()}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> TrainState:
  """Trains `config.model.family` in `workdir`, resuming from its latest checkpoint if there is one."""
  cpu_devices.configure_for(config)  # before anything starts JAX
  distributed.maybe_initialize()
  family = registry.get_family(config.model.family)
  mesh = sharding.make_mesh(config.mesh.num_devices)
  sharding.check_batch_divisible(config.train.batch_size, mesh)
  local_batch = input_pipeline.local_batch_size(config.train.batch_size)
  log.info("training %s on a mesh of %d %s device(s) over %d process(es), global batch %d", family.name,
           mesh.devices.size, mesh.devices.flat[0].platform, jax.process_count(), config.train.batch_size)

  # Data first: a broken or empty dataset fails before the workdir is touched.
  pidx, pcount = jax.process_index(), jax.process_count()
  train_ds = family.make_dataset(config, "train", process_index=pidx, process_count=pcount)
  example = input_pipeline.first_example_batch(train_ds, 1)
  abstract = abstract_state(family, config, example)
  state_shardings = make_state_shardings(abstract, mesh)

  ckpt = checkpointing.Checkpointer(checkpoint_dir(workdir), keep=config.train.keep_ckpts)
  start = ckpt.latest_step()
  if start is not None:
    ckpt.check_compatible(family.name, abstract)  # a different model's workdir is refused untouched
  os.makedirs(workdir, exist_ok=True)
  config_utils.save_config(config, os.path.join(workdir, "config.json"))

  base_rng = jax.random.key(config.seed)
  init_rng, step_rng_base, eval_rng = jax.random.split(base_rng, 3)
  if start is not None:
    state = ckpt.restore(checkpointing.abstract_with_sharding(abstract, sharding.replicated(mesh)))
    log.info("resumed from %s at step %d", ckpt.directory, start)
  else:
    init = jax.jit(lambda rng, b: family.init_state(config, rng, b), out_shardings=state_shardings)
    state = init(init_rng, example)
    if config.init_from:
      state = _init_from(config, family, abstract, state, mesh)
    start = 0

  total = config.train.steps
  writer = MetricWriter(workdir)
  if start >= total:
    log.info("workdir already holds a checkpoint at step %d >= train.steps=%d; nothing to train", start, total)
    ckpt.close()
    writer.close()
    return state

  train_iter = input_pipeline.batched_numpy(train_ds, local_batch, seed=config.seed,
                                            shuffle_buffer=config.data.shuffle_buffer,
                                            cache=config.data.get("cache", False), start_step=start)
  step_fn = compile_train_step(family, config, mesh, state_shardings)
  eval_step, val_iter = None, None
  if config.train.eval_every and family.make_eval_step is not None:
    eval_step = sharding.jit_on_mesh(family.make_eval_step(config), mesh)
    val_ds = family.make_dataset(config, "validation", process_index=pidx, process_count=pcount)
    val_iter = input_pipeline.batched_numpy(val_ds, local_batch, seed=config.seed, shuffle_buffer=0, cache=True)

  progress = None
  if config.train.progress and pidx == 0:
    from tqdm.auto import tqdm
    progress = tqdm(total=total, initial=start, desc=family.name, unit="step", dynamic_ncols=True)

  last_saved = start
  pending = None  # (step, metrics) of the previous step, checked one step late to keep dispatch async
  window_t, window_steps = time.perf_counter(), 0

  def check(step_metrics):
    step_no, metrics = step_metrics
    host = _fetch(metrics)
    if not all(np.isfinite(v) for v in host.values()):
      bad = {k: v for k, v in host.items() if not np.isfinite(v)}
      raise NonFiniteLossError(
          f"non-finite training metrics at step {step_no}: {bad}. Stopped; the last good checkpoint "
          f"(step {ckpt.latest_step()}) in {ckpt.directory} is kept.")
    return step_no, host

  step = start
  try:
    for step in range(start, total):
      batch = sharding.to_global_batch(next(train_iter), mesh)
      state, metrics = step_fn(state, batch, jax.random.fold_in(step_rng_base, step))
      if pending is not None:
        done_step, host = check(pending)
        if done_step % config.train.log_every == 0 or done_step == total:
          elapsed = time.perf_counter() - window_t
          host["examples_per_sec"] = window_steps * config.train.batch_size / max(elapsed, 1e-9)
          writer.write(done_step, host)
          if progress is not None:
            progress.set_postfix(loss=f"{host['loss']:.4g}", ex_s=f"{host['examples_per_sec']:.0f}")
          window_t, window_steps = time.perf_counter(), 0
      pending = (step + 1, metrics)
      window_steps += 1
      if progress is not None:
        progress.update(1)
      if eval_step is not None and (step + 1) % config.train.eval_every == 0:
        writer.write(step + 1, _run_validation(eval_step, state, val_iter, mesh, eval_rng,
                                               config.train.eval_batches), prefix="val")
      if (step + 1) % config.train.ckpt_every == 0 and step + 1 < total:
        check(pending)  # never checkpoint a state whose step went non-finite
        ckpt.save(step + 1, state, family.name)
        last_saved = step + 1
    done_step, host = check(pending)
    writer.write(done_step, host)
    ckpt.save(total, state, family.name)
    last_saved = total
  except KeyboardInterrupt:
    # Save what we have (if it is finite) so re-running the command resumes here.
    if pending is not None and pending[0] > last_saved:
      try:
        check(pending)
        ckpt.save(pending[0], state, family.name)
        log.warning("interrupted: saved a checkpoint at step %d", pending[0])
      except NonFiniteLossError:
        pass
    raise
  finally:
    if progress is not None:
      progress.close()
    ckpt.close()
    writer.close()
  return state
