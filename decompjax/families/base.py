"""The contract every model family implements, and the train state they share.

A family is a small bundle of pure functions. The generic trainer (`decompjax.train`) owns the mesh, the
data pipeline, jit/donation, checkpoints, logging and fault handling; the family owns the model, the loss
and what one optimisation step means (one optimizer for most families, two for FactorVAE, EMA codebook
updates for the VQ-VAE, BatchNorm statistics for the conv models).

State layout (a pytree, so orbax saves and restores it and `jax.jit` donates it):
  step         int32 scalar
  params       any pytree of trainable arrays (FactorVAE: {'vae': ..., 'disc': ...})
  opt_state    the optax state(s) matching params
  model_state  non-trainable collections (BatchNorm 'batch_stats', EMA codebooks); {} when unused
The optax transformation is *not* in the state: families rebuild it from the config (deterministic), which
keeps the state a plain array pytree that restores onto any device count.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections

Batch = Mapping[str, jax.Array]
Metrics = dict[str, jax.Array]


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


# (config, rng, example_batch) -> TrainState.  example_batch is one *per-example-stacked* batch of numpy
# arrays exactly as the data pipeline yields it (leading batch axis), used only for shapes.
InitFn = Callable[[ml_collections.ConfigDict, jax.Array, Batch], TrainState]
# (state, batch, rng) -> (state, metrics). Must be a pure function; the trainer jits it with the state
# donated, the batch sharded along 'data' and the state replicated. metrics must contain 'loss' (a scalar).
StepFn = Callable[[TrainState, Batch, jax.Array], tuple[TrainState, Metrics]]


@dataclasses.dataclass(frozen=True)
class Family:
  """One model family. Registered by name in `decompjax.registry`."""
  name: str
  # Builds the initial (unsharded) state. Called under jax.eval_shape too, so it must be traceable.
  init_state: InitFn
  # make_train_step(config) -> StepFn
  make_train_step: Callable[[ml_collections.ConfigDict], StepFn]
  # make_dataset(config, split, *, process_index, process_count) -> unbatched tf.data.Dataset of dicts of
  # fixed-shape tensors. Must read local files only (or generate locally).
  make_dataset: Callable[..., Any]
  # evaluate(config, state, workdir) -> dict of scalar metrics; writes <workdir>/eval/metrics.json + figures.
  evaluate: Callable[[ml_collections.ConfigDict, TrainState, str], dict]
  # Optional: make_eval_step(config) -> (state, batch, rng) -> metrics, run on the validation split while
  # training (every config.train.eval_every steps).
  make_eval_step: Callable[[ml_collections.ConfigDict], Callable[..., Metrics]] | None = None
