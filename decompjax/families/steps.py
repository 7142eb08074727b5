"""Step builders for families with one optimizer and no non-trainable state (the SynTone VAE losses)."""
from __future__ import annotations

from typing import Callable

import jax
import optax

from decompjax.families.base import TrainState

# loss_fn(params, batch, rng) -> (scalar loss, dict of scalar terms for logging)
LossFn = Callable[..., tuple[jax.Array, dict]]


def gradient_step(tx: optax.GradientTransformation, loss_fn: LossFn):
  """A pure train_step(state, batch, rng) -> (state, metrics): one optax update on loss_fn's gradient."""

  def train_step(state: TrainState, batch, rng):
    (loss, terms), grads = jax.value_and_grad(lambda p: loss_fn(p, batch, rng), has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {"loss": loss, **terms, "grad_norm": optax.global_norm(grads)}
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state), metrics

  return train_step


def loss_eval_step(loss_fn: LossFn):
  """eval_step(state, batch, rng) -> the loss and its terms at the current parameters (no update)."""

  def eval_step(state: TrainState, batch, rng):
    loss, terms = loss_fn(state.params, batch, rng)
    return {"loss": loss, **terms}

  return eval_step
