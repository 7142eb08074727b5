"""The generic training loop: `train_and_evaluate(config, workdir)` drives any registered family.

Owns what every family shares: the ('data',) or ('data', 'model') mesh, the input pipeline, jit with donated
state, orbax checkpoints (resume, keep-last-N, restore onto another device count), a best-by-validation
checkpoint and early stopping (train.keep_best_by, train.early_stop_patience), logging, evaluation at the end,
and faults: NaN/Inf stops the run and keeps the last checkpoint whose loss was finite; SIGINT/SIGTERM save the
current step at the next step boundary (each step saved once, a save reported only once on disk), then exit.

The optimizer is built once per run (`family.make_tx`) and shared by init and the step. Restoring builds the
state's shapes from `family.input_spec` and never reads (or generates) the training data. The library never
changes global JAX state: the CPU device split is decided by the command's entry point.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import time

import jax
import ml_collections
import numpy as np

from decompjax import (checkpointing, config_utils, distributed, fileio, input_pipeline, registry, sharding,
                       stop_signals)
from decompjax.errors import ConfigError, DataError, MissingInputError, NonFiniteLossError
from decompjax.family import TrainState
from decompjax.metric_writer import MetricWriter
from decompjax.progress import Progress

log = logging.getLogger(__name__)


def checkpoint_dir(workdir: str) -> str:
  return fileio.join(workdir, "checkpoints")


def best_checkpoint_dir(workdir: str) -> str:
  """The best-by-validation checkpoint (train.keep_best_by): one orbax step folder plus best.json."""
  return fileio.join(workdir, "checkpoints_best")


# Tensor parallelism splits a state leaf over 'model' from this many elements (config.mesh.model_parallel_min_size):
# a split smaller leaf costs more in collectives than its memory saves.
DEFAULT_MODEL_PARALLEL_MIN_SIZE = 2 ** 16

BEST_RECORD = "best.json"  # in best_checkpoint_dir: {"metric", "mode", "step", "value"}


def read_best_record(workdir: str) -> dict | None:
  path = fileio.join(best_checkpoint_dir(workdir), BEST_RECORD)
  if not fileio.isfile(path):
    return None
  return json.loads(fileio.read_text(path))


def make_state_shardings(abstract_state, mesh, config=None):
  """The state's layout on the mesh, leaf by leaf (sharding.leaf_sharding): every leaf replicated (data
  parallelism), except the optimizer state split over 'data' with config.mesh.shard_opt_state (ZeRO-1), the
  parameters too with config.mesh.shard_params (FSDP; it implies the first), and on a 2-D mesh
  (config.mesh.model_parallel > 1) the parameters and optimizer-state leaves of at least
  config.mesh.model_parallel_min_size elements split over 'model' (tensor parallelism). Model state (BatchNorm
  statistics, codebooks) and the step stay replicated."""
  layout = config.mesh if config is not None else {}
  fsdp = layout.get("shard_params", False)
  zero = fsdp or layout.get("shard_opt_state", False)
  min_size = layout.get("model_parallel_min_size", DEFAULT_MODEL_PARALLEL_MIN_SIZE)
  split = lambda tree, over_data: jax.tree.map(
      lambda s: sharding.leaf_sharding(s.shape, mesh, over_data=over_data, model_min_size=min_size), tree)
  out = jax.tree.map(lambda _: sharding.replicated(mesh), abstract_state)
  if zero or sharding.model_size(mesh) > 1:
    out = out.replace(params=split(abstract_state.params, fsdp), opt_state=split(abstract_state.opt_state, zero))
  return out


def compile_train_step(family, config, mesh, state_shardings, tx=None):
  """tx: the run's optimizer (family.make_tx(config) if None)."""
  tx = family.make_tx(config) if tx is None else tx
  return sharding.jit_on_mesh(family.make_train_step(config, tx), mesh,
                              in_shardings=(state_shardings, sharding.data_sharded(mesh), sharding.replicated(mesh)),
                              out_shardings=(state_shardings, sharding.replicated(mesh)),
                              donate_argnums=(0,))


def abstract_state(family, config, example_batch, tx=None):
  """The TrainState of `family` as ShapeDtypeStructs (nothing allocated); tx as in compile_train_step."""
  tx = family.make_tx(config) if tx is None else tx
  return jax.eval_shape(lambda rng, b: family.init_state(config, rng, b, tx), jax.random.key(0), example_batch)


def restore_state(config: ml_collections.ConfigDict, workdir: str, mesh=None, step: int | None = None, *,
                  best: bool = False) -> TrainState:
  """Restores the latest (or given) checkpoint of `workdir` onto `mesh` (default: the config's, config_mesh),
  every leaf replicated.
  The latest: the newest step that restores (a damaged one is skipped with a warning and left in place).
  best: the best-by-validation checkpoint instead (train.keep_best_by). Reads no data, writes nothing."""
  src = best_checkpoint_dir(workdir) if best else checkpoint_dir(workdir)
  no_checkpoint = (f"no best checkpoint in {src}: train with --config.train.keep_best_by=val/loss first" if best
                   else f"no checkpoint in {src}: train first")
  if not fileio.isdir(src):
    raise MissingInputError(no_checkpoint)
  ckpt = checkpointing.Checkpointer(src, read_only=True)
  try:
    if step is None and ckpt.latest_step() is None:
      raise MissingInputError(no_checkpoint)
    family = registry.get_family(config.model.family)
    mesh = mesh or sharding.config_mesh(config)
    # The shapes come from the config alone: restoring never opens (or generates) the training set.
    abstract = abstract_state(family, config, family.example_batch(config))
    target = checkpointing.abstract_with_sharding(abstract, sharding.replicated(mesh))
    state, _, _ = ckpt.restore_newest(family.name, abstract, target, step)
    return state
  finally:
    ckpt.close()


def _init_from(config, family, abstract, state_shardings) -> TrainState:
  """Fine-tuning: the state of another workdir's newest restorable checkpoint, in the run's layout (the caller
  takes its params and model_state). Called before the new workdir is created, so a bad init_from leaves
  nothing behind; the source is only read."""
  src = checkpoint_dir(config.init_from)
  where = f"config.init_from={config.init_from!r}"
  if not fileio.isdir(src):
    raise MissingInputError(f"{where}: no checkpoint folder {src} (init_from names a trained workdir)")
  other = checkpointing.Checkpointer(src, read_only=True)
  try:
    if other.latest_step() is None:
      raise MissingInputError(f"{where}: no checkpoint in {src}")
    target = checkpointing.abstract_with_sharding(abstract, state_shardings)
    loaded, step, _ = other.restore_newest(
        family.name, abstract, target,
        advice="Point config.init_from at a trained run of this model; nothing was created.")
  except (checkpointing.CheckpointMismatchError, checkpointing.CheckpointCorruptError) as e:
    raise type(e)(f"{where}: {e}") from None
  finally:
    other.close()
  log.info("initialising params from %s (step %d)", src, step)
  return loaded


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
  """Trains `config.model.family` in `workdir`, resuming from its latest checkpoint if there is one, then
  (config.train.eval_at_end) evaluates the final state as `decompjax eval` does.

  SIGINT/SIGTERM stop it at the next step boundary with a checkpoint of that step: SIGINT then raises
  KeyboardInterrupt, SIGTERM `Terminated` (a SystemExit with code 143). train.early_stop_patience ends it early
  (normally: the final checkpoint is written and evaluated as usual).

  The family's resolve_config fills `config`'s data-dependent fields in place before config.json is saved."""
  from decompjax import config_validation
  config_validation.validate(config)  # bad values fail before anything starts or is written
  distributed.maybe_initialize()
  family = registry.get_family(config.model.family)
  if family.make_eval_step is None and config.train.keep_best_by:
    raise ConfigError(f"config field 'train.keep_best_by' = {config.train.keep_best_by!r}: model family "
                      f"{family.name!r} has no validation step (make_eval_step), so there is nothing to keep the "
                      "best by; set it to ''")
  if family.resolve_config is not None:
    with config.unlocked():  # it may add the fields it fills; the config is locked again after
      family.resolve_config(config)
  mesh = sharding.config_mesh(config)
  sharding.check_batch_divisible(config.train.batch_size, mesh)
  local_batch = input_pipeline.local_batch_size(config.train.batch_size)
  log.info("training %s on a mesh of %d %s device(s) %s over %d process(es), global batch %d", family.name,
           mesh.devices.size, mesh.devices.flat[0].platform, dict(mesh.shape), jax.process_count(),
           config.train.batch_size)

  # Data first: a broken or empty dataset fails before the workdir is touched.
  pidx, pcount = jax.process_index(), jax.process_count()
  if family.prepare_data is not None:
    family.prepare_data(config)  # generated data (SynTone, SimVowels): made once, process 0 writes
  train_ds = family.make_dataset(config, "train", process_index=pidx, process_count=pcount)
  example = family.example_batch(config)  # what restoring uses too: the state's shapes never depend on data
  check_batch_matches_spec(family, input_pipeline.first_example_batch(train_ds, 1), example)
  tx = family.make_tx(config)  # once per run: init, the step and the abstract state share it
  abstract = abstract_state(family, config, example, tx)
  state_shardings = make_state_shardings(abstract, mesh, config)
  best = _BestKeeper(family, config, workdir, abstract) if config.train.keep_best_by else None

  # Checkpoints are read before anything is created: a different model's workdir, one whose every step is
  # damaged, or a bad init_from fails with nothing written (damaged steps newer than the one resumed from
  # are moved aside, see checkpointing.resume).
  target = checkpointing.abstract_with_sharding(abstract, state_shardings)  # resumes in the step's layout
  resumed = checkpointing.resume(checkpoint_dir(workdir), family.name, abstract, target)
  source = _init_from(config, family, abstract, state_shardings) if resumed is None and config.init_from else None
  if distributed.is_writer():  # one writer: hosts saving the same file at once race (files vanish)
    fileio.makedirs(workdir)
  config_utils.save_config(config, fileio.join(workdir, "config.json"))  # process 0 only
  distributed.barrier("decompjax-config-saved")
  ckpt = checkpointing.Checkpointer(checkpoint_dir(workdir), keep=config.train.keep_ckpts)

  base_rng = jax.random.key(config.seed)
  init_rng, step_rng_base, eval_rng = jax.random.split(base_rng, 3)
  if resumed is not None:
    state, start = resumed
    log.info("resumed from %s at step %d", ckpt.directory, start)
  else:
    init = jax.jit(lambda rng, b: family.init_state(config, rng, b, tx), out_shardings=state_shardings)
    state = init(init_rng, example)
    if source is not None:
      state = state.replace(params=source.params, model_state=source.model_state)
    start = 0

  total = config.train.steps
  writer = MetricWriter(workdir, resume_step=start)
  if start >= total:
    log.info("workdir already holds a checkpoint at step %d >= train.steps=%d; nothing to train", start, total)
    ckpt.close()
    writer.close()
    if config.train.eval_at_end and not fileio.isfile(fileio.join(workdir, "eval", "metrics.json")):
      evaluate_at_end(family, config, state, workdir)  # the finished run was stopped before it evaluated
    return state

  train_iter = input_pipeline.batched_numpy(train_ds, local_batch, seed=config.seed,
                                            shuffle_buffer=config.data.shuffle_buffer,
                                            cache=config.data.get("cache", False), start_step=start)
  step_fn = compile_train_step(family, config, mesh, state_shardings, tx)
  eval_step, val_iter = None, None
  if config.train.eval_every and family.make_eval_step is not None:
    eval_step = sharding.jit_on_mesh(family.make_eval_step(config), mesh)
    val_ds = family.make_dataset(config, "validation", process_index=pidx, process_count=pcount)
    # where the uninterrupted run's validation stream is now: start // eval_every passes of eval_batches
    val_iter = input_pipeline.batched_numpy(
        val_ds, local_batch, seed=config.seed, shuffle_buffer=0, cache=True,
        start_step=start // config.train.eval_every * config.train.eval_batches)

  progress = Progress(family.name, total, start) if config.train.progress and pidx == 0 else None
  saves = _Saves(ckpt, family.name, start)
  # A step's metrics are the loss at the parameters *before* its update, so the state after step k is known
  # good only once step k + 1 has run: a checkpoint is a copy of the state after k, saved during step k + 1.
  unchecked = None  # (step, metrics) of the last update, fetched one step late to keep dispatch async
  candidate = None  # (step, copy of the state after it) waiting for the next update's loss
  done, last_batch = start, None  # updates applied so far; the batch of the last one
  window_t, window_steps = time.perf_counter(), 0
  logged = start  # the newest step whose metrics were checked (and written if due)

  def check(params_step, metrics):
    host = _fetch(metrics)
    if not all(np.isfinite(v) for v in host.values()):
      bad = {k: v for k, v in host.items() if not np.isfinite(v)}
      ckpt.wait()
      raise NonFiniteLossError(
          f"training went non-finite: the metrics at the parameters after step {params_step} are {bad}. "
          f"Stopped; the last good checkpoint (step {ckpt.latest_step()}) in {ckpt.directory} is kept.")
    return host

  def log_metrics(step_no, metrics, force=False):
    nonlocal window_t, window_steps, logged
    host = check(step_no - 1, metrics)
    logged = step_no
    if force or step_no % config.train.log_every == 0 or step_no == total:
      host["examples_per_sec"] = window_steps * config.train.batch_size / max(time.perf_counter() - window_t, 1e-9)
      writer.write(step_no, host)
      if progress is not None:
        progress.logged(step_no, host)
      window_t, window_steps = time.perf_counter(), 0

  def save_current():
    """Saves the state after `done` once one more forward pass shows the loss at it is finite."""
    if saves.requested(done):
      return
    _, probe = step_fn(_copy(state), last_batch, jax.random.fold_in(step_rng_base, done))
    check(done, probe)
    saves.save(done, state)

  stopped_by = None
  if best is not None:
    best.start(start)
  with stop_signals.deferred() as stop:
    try:
      for step in range(start, total):
        last_batch = sharding.to_global_batch(next(train_iter), mesh)
        state, metrics = step_fn(state, last_batch, jax.random.fold_in(step_rng_base, step))
        done = step + 1
        window_steps += 1
        if unchecked is not None:
          log_metrics(*unchecked)
        unchecked = (done, metrics)
        if candidate is not None:
          check(candidate[0], metrics)  # never checkpoint a state the loss went non-finite at
          saves.save(*candidate)
          candidate = None
        if progress is not None:
          progress.step_done()
        if eval_step is not None and done % config.train.eval_every == 0:
          val = _run_validation(eval_step, state, val_iter, mesh, eval_rng, config.train.eval_batches)
          writer.write(done, val, prefix="val")
          if best is not None and best.update(done, val, state):
            break  # early stop: the final checkpoint of `done` is written below
        if stop.should_stop(done):  # every process asks at every step: on several, a collective question
          break
        if done % config.train.ckpt_every == 0 and done < total:
          candidate = (done, _copy(state))  # the next step donates `state`
      log_metrics(*unchecked, force=True)
      save_current()
      if stop:
        stopped_by = stop.name
        saves.report(done, f"stopped by {stopped_by}")
      else:
        ckpt.wait()  # a failed write raises here, not after "trained to step N"
    except KeyboardInterrupt:
      # Raised by code the loop called, or a second Ctrl-C (which means: stop now, without saving). Several
      # processes: no save here, it would be one that only this process joins.
      alive = not any(x.is_deleted() for x in jax.tree.leaves(state))
      if not stop.coordinated and not stop and done > start and alive:
        try:
          if logged < done:
            log_metrics(*unchecked, force=True)  # the line of the step about to be saved
          save_current()
        except NonFiniteLossError as e:
          log.warning("interrupted; not saving step %d: %s", done, e)
      if done > start:
        saves.report(done, "interrupted")
      raise
    finally:
      if progress is not None:
        progress.close()
      if best is not None:
        best.close()
      ckpt.close()
      writer.close()
  if stopped_by == "SIGINT":
    raise KeyboardInterrupt
  if stopped_by is not None:
    raise Terminated(done, ckpt.directory)
  if config.train.eval_at_end:
    evaluate_at_end(family, config, state, workdir)
  return state


def check_batch_matches_spec(family, batch, example) -> None:
  """DataError unless the data's first batch has the keys, shapes (after the batch axis) and dtypes of
  family.input_spec: the state is built from the spec, so data that disagrees would train a different model
  than the one restoring rebuilds."""
  def describe(tree):
    return {k: (tuple(np.shape(v))[1:], np.dtype(v.dtype).name) for k, v in tree.items()}
  got, want = describe(batch), describe(example)
  if got != want:
    diffs = [f"{k}: data {got.get(k, 'missing')} vs input_spec {want.get(k, 'missing')}"
             for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)]
    raise DataError(f"the training data of model family {family.name!r} does not match its input_spec "
                    f"(shape after the batch axis, dtype): {'; '.join(diffs)}. Check config.data.* against the "
                    "data in config.data.dir.")


class _BestKeeper:
  """train.keep_best_by / train.early_stop_patience: after each validation pass, saves the state to
  <workdir>/checkpoints_best/ when the metric improved (one step folder: orbax keeps the newest, which is the
  best) and records it in best.json; says when `early_stop_patience` passes in a row did not improve it.
  A resumed run continues from best.json (value and step), so it never replaces the best with a worse state."""

  def __init__(self, family, config, workdir: str, abstract):
    self._family, self._workdir = family.name, workdir
    self.metric = config.train.keep_best_by.removeprefix("val/")
    self.mode, self.patience = config.train.keep_best_mode, config.train.early_stop_patience
    self._every = config.train.eval_every
    # The metric must be one the validation step returns: checked on shapes only, before anything is written.
    batch = {k: jax.ShapeDtypeStruct((config.train.batch_size,) + s.shape[1:], s.dtype)
             for k, s in family.input_spec(config).items()}
    names = sorted(jax.eval_shape(family.make_eval_step(config), abstract, batch, jax.random.key(0)))
    if self.metric not in names:
      raise ConfigError(f"config field 'train.keep_best_by' = {config.train.keep_best_by!r}: the validation pass "
                        f"of {family.name!r} reports {', '.join('val/' + n for n in names)}")
    self.value, self.step, self._since = None, None, 0
    self._ckpt = None

  def start(self, start_step: int) -> None:
    record = read_best_record(self._workdir)
    if record is None:
      return
    if (record.get("metric"), record.get("mode")) != (self.metric, self.mode):
      log.warning("%s holds the best by %s (%s); this run keeps the best by %s (%s) and will replace it",
                  best_checkpoint_dir(self._workdir), record.get("metric"), record.get("mode"), self.metric,
                  self.mode)
      return
    self.value, self.step = record["value"], record["step"]
    # validation passes since the best one (a resumed run counts the ones before it stopped)
    self._since = max(0, start_step // self._every - self.step // self._every)

  def _improves(self, value: float) -> bool:
    if not np.isfinite(value):
      return False
    return self.value is None or (value < self.value if self.mode == "min" else value > self.value)

  def update(self, step: int, val: dict[str, float], state) -> bool:
    """-> True when training should stop early."""
    value = val[self.metric]
    if self._improves(value):
      self.value, self.step, self._since = value, step, 0
      self._save(step, state)
    else:
      self._since += 1
    if self.patience and self._since >= self.patience:
      log.info("early stop at step %d: val/%s has not improved for %d validation passes (best %g at step %d)",
               step, self.metric, self._since, self.value, self.step)
      return True
    return False

  def _save(self, step: int, state) -> None:
    if self._ckpt is None:
      # Synchronous: best.json is written only once the step folder is complete (and the next step may donate
      # `state`). keep=1: the previous best goes once the new one is committed.
      self._ckpt = checkpointing.Checkpointer(best_checkpoint_dir(self._workdir), keep=1, async_save=False)
    self._ckpt.save(step, state, self._family)
    if distributed.is_writer():
      record = {"metric": self.metric, "mode": self.mode, "step": int(step), "value": float(self.value)}
      fileio.write_text_atomic(fileio.join(best_checkpoint_dir(self._workdir), BEST_RECORD),
                               json.dumps(record, indent=2))
    log.info("new best val/%s = %g at step %d: saved to %s", self.metric, self.value, step,
             best_checkpoint_dir(self._workdir))

  def close(self) -> None:
    if self._ckpt is not None:
      self._ckpt.close()


class Terminated(SystemExit):
  """SIGTERM stopped training at a step boundary after saving that step; uncaught, the process exits 143."""

  def __init__(self, step: int, checkpoint_dir: str):
    super().__init__(128 + signal.SIGTERM)
    self.step, self.checkpoint_dir = step, checkpoint_dir


def evaluate_at_end(family, config, state, workdir: str) -> dict:
  """What `decompjax eval --workdir` does, on the state just trained (= its last checkpoint)."""
  log.info("evaluating step %d into %s", int(state.step), os.path.join(workdir, "eval"))
  from decompjax.evaluation import report
  return report.evaluate_and_write(family, config, state, workdir)


def _copy(state):
  return jax.tree.map(lambda x: x.copy(), state)


class _Saves:
  """One run's checkpoint saves: each step is saved at most once (a second save of a step collides with the
  first on orbax's temporary directory), and a save is only reported once it is on disk."""

  def __init__(self, ckpt: checkpointing.Checkpointer, family_name: str, resumed_step: int):
    self._ckpt, self._family = ckpt, family_name
    self._requested = {resumed_step}

  def requested(self, step: int) -> bool:
    return step in self._requested

  def save(self, step: int, state) -> None:
    if step in self._requested:
      return
    self._requested.add(step)  # before the call: an interrupt inside it must not lead to a second save
    self._ckpt.save(step, state, self._family)

  def report(self, step: int, why: str) -> None:
    """Waits for the in-flight save and logs whether a checkpoint of `step` is on disk."""
    committed = self._ckpt.committed_steps()
    if step in committed:
      log.warning("%s: saved a checkpoint at step %d in %s; run the same command again to resume", why, step,
                  self._ckpt.directory)
    else:
      log.warning("%s at step %d: no checkpoint of it was written; the latest is step %s", why, step,
                  max(committed) if committed else None)
