"""The contract every model family implements (v2), and the train state they share.

A family is a small bundle of pure functions. The generic trainer (`decompjax.train`) owns the mesh, the data
pipeline, jit/donation, checkpoints, logging and fault handling; the family owns the model, the loss, what one
optimisation step means and how a trained state is evaluated. This module imports no family: families import it.

State layout (a pytree, so orbax saves and restores it and `jax.jit` donates it):
  step         int32 scalar
  params       any pytree of trainable arrays (FactorVAE: {'vae': ..., 'disc': ...})
  opt_state    the optax state(s) matching params (a dict keyed like params when there are several optimisers)
  model_state  non-trainable collections (BatchNorm 'batch_stats', EMA codebooks); {} when unused
The optax transformation is *not* in the state: `make_tx(config)` rebuilds it (deterministic), once per run, and
the same object serves init and the step. That keeps the state a plain array pytree that restores anywhere.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Union

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

Config = ml_collections.ConfigDict
Batch = Mapping[str, Any]
Metrics = dict[str, jax.Array]
# One optax transformation, or several keyed like params (each updates its own subtree; FactorVAE's VAE and
# discriminator). optax.multi_transform is one transformation and belongs in the first form.
Tx = Union[optax.GradientTransformation, Mapping[str, optax.GradientTransformation]]


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  opt_state: Any
  model_state: Any

  @classmethod
  def create(cls, params, opt_state, model_state=None) -> "TrainState":
    return cls(step=jnp.zeros((), jnp.int32), params=params, opt_state=opt_state,
               model_state=model_state if model_state is not None else {})


def init_opt_state(tx: Tx, params):
  if isinstance(tx, Mapping):
    return {k: tx[k].init(params[k]) for k in tx}
  return tx.init(params)


# (state, batch, rng) -> (state, metrics). Pure; the trainer jits it with the state donated, the batch sharded
# along 'data' and the state laid out by train.make_state_shardings (replicated unless config.mesh asks for
# ZeRO-1 / FSDP / a 'model' axis). metrics must contain 'loss' (a scalar).
StepFn = Callable[[TrainState, Batch, jax.Array], tuple[TrainState, Metrics]]


@dataclasses.dataclass(frozen=True)
class Family:
  """One model family, registered by name in `decompjax.registry`."""
  name: str
  # input_spec(config) -> {key: jax.ShapeDtypeStruct} with a leading batch axis of 1: one example batch as the
  # data pipeline yields it, from the config alone. Restoring a checkpoint uses it and never reads data.
  input_spec: Callable[[Config], dict[str, jax.ShapeDtypeStruct]]
  # make_tx(config) -> Tx, built once per run and shared by init and step.
  make_tx: Callable[[Config], Tx]
  # init_variables(config, rng, example) -> (params, model_state); example as input_spec describes (zeros).
  # Traced under jax.eval_shape and jax.jit, so it must be traceable; it uses the example's shapes only.
  init_variables: Callable[[Config, jax.Array, Batch], tuple[Any, Any]]
  # make_train_step(config, tx) -> StepFn
  make_train_step: Callable[[Config, Tx], StepFn]
  # make_dataset(config, split, *, process_index, process_count) -> unbatched tf.data.Dataset of dicts of
  # fixed-shape tensors. Reads local files only; generated data is made by prepare_data first.
  make_dataset: Callable[..., Any]
  # evaluate(config, state, workdir) -> evaluation.report.Report (named scalars, tables, figures, audio);
  # the caller writes it once (evaluation.report.write_report, process 0 only).
  evaluate: Callable[[Config, TrainState, str], Any]
  # Optional: make_eval_step(config) -> (state, batch, rng) -> metrics on the validation split while training.
  make_eval_step: Callable[[Config], Callable[..., Metrics]] | None = None
  # Optional: prepare_data(config) -> None. Generates / caches what make_dataset reads (SynTone, SimVowels).
  # Idempotent; on several hosts process 0 writes and the others wait at a barrier.
  prepare_data: Callable[[Config], None] | None = None
  # Optional: resolve_config(config) -> None. Fills fields that depend on the data (a UCR set's series length)
  # before the trainer saves config.json, so that input_spec works from the saved config alone.
  resolve_config: Callable[[Config], None] | None = None
  # Optional: latents(config, state, max_examples) -> [evaluation.latents.LatentSet]: the run's latents of its
  # evaluation data (at most max_examples examples per set), for `decompjax compare`.
  latents: Callable[[Config, TrainState, int], list] | None = None

  def init_state(self, config: Config, rng: jax.Array, example: Batch, tx: Tx | None = None) -> TrainState:
    """The initial (unsharded) state; tx defaults to make_tx(config)."""
    tx = self.make_tx(config) if tx is None else tx

    def build(rng, example):
      params, model_state = self.init_variables(config, rng, example)
      return TrainState.create(params, init_opt_state(tx, params), model_state)

    # One compiled program: called eagerly, init would dispatch (and compile) each of its hundreds of small ops
    # on its own, measured 1.5-2x slower; under an outer jit / eval_shape this is an inlined call.
    return jax.jit(build)(rng, example)

  def example_batch(self, config: Config) -> dict[str, np.ndarray]:
    """Zeros shaped like input_spec(config): what init needs (it reads shapes only)."""
    return {k: np.zeros(s.shape, s.dtype) for k, s in self.input_spec(config).items()}
