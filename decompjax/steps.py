"""The one gradient-step builder every family uses, and a loss-only eval step.

`gradient_step` covers what the families need: mutable model state (BatchNorm statistics, EMA codebooks) returned
by the loss, logged terms, values computed outside the gradient (codebook usage), and several optimisers keyed
like the params (FactorVAE). Work stays on the side of `value_and_grad` where the family puts it: `prepare` runs
before the gradient (e.g. augmentations whose randomness must not be differentiated), `loss_fn` inside it,
`metrics_fn` after it. Moving work across that line changes the compiled program, so families keep it where it is.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import optax

from decompjax.family import Batch, StepFn, TrainState, Tx


class LossOut(NamedTuple):
  """The auxiliary output of a family's loss."""
  terms: dict                   # logged scalars (after "loss")
  model_state: Any = None       # updated non-trainable collections; None keeps state.model_state
  extra: Any = None             # handed to metrics_fn outside the gradient (e.g. codebook indices)


# loss_fn(params, model_state, *inputs) -> (scalar loss, LossOut); inputs = prepare(batch, rng) or (batch, rng)
LossFn = Callable[..., tuple[jax.Array, LossOut]]


def gradient_step(tx: Tx, loss_fn: LossFn, *, prepare: Callable[[Batch, jax.Array], tuple] | None = None,
                  metrics_fn: Callable[[Any], dict] | None = None, loss_key: str | None = None,
                  grad_norms: Sequence[tuple[str, str | None]] = (("grad_norm", None),)) -> StepFn:
  """A pure train_step(state, batch, rng) -> (state, metrics): one update of every optimiser on loss_fn's gradient.

  loss_key: log terms[loss_key] as "loss" instead of the differentiated value (FactorVAE differentiates the sum of
  its VAE and discriminator losses but reports the VAE loss). grad_norms: (metric name, params key or None for
  the whole tree) pairs.
  """

  def train_step(state: TrainState, batch: Batch, rng: jax.Array):
    inputs = prepare(batch, rng) if prepare is not None else (batch, rng)
    (loss, out), grads = jax.value_and_grad(lambda p: loss_fn(p, state.model_state, *inputs),
                                            has_aux=True)(state.params)
    if isinstance(tx, Mapping):  # every update first, then every apply (the order the families always used)
      updates = {k: tx[k].update(grads[k], state.opt_state[k], state.params[k]) for k in tx}
      params = {k: optax.apply_updates(state.params[k], updates[k][0]) for k in tx}
      opt_state = {k: updates[k][1] for k in tx}
    else:
      upd, opt_state = tx.update(grads, state.opt_state, state.params)
      params = optax.apply_updates(state.params, upd)
    terms = dict(out.terms)
    metrics = {"loss": terms.pop(loss_key) if loss_key else loss, **terms}
    if metrics_fn is not None:
      metrics.update(metrics_fn(out.extra))
    for name, key in grad_norms:
      metrics[name] = optax.global_norm(grads if key is None else grads[key])
    new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state)
    if out.model_state is not None:
      new_state = new_state.replace(model_state=dict(out.model_state))
    return new_state, metrics

  return train_step


def loss_eval_step(loss_fn: LossFn, *, prepare: Callable[[Batch, jax.Array], tuple] | None = None,
                   loss_key: str | None = None) -> Callable[[TrainState, Batch, jax.Array], dict]:
  """eval_step(state, batch, rng) -> the loss and its terms at the current parameters (no update)."""

  def eval_step(state: TrainState, batch: Batch, rng: jax.Array):
    inputs = prepare(batch, rng) if prepare is not None else (batch, rng)
    loss, out = loss_fn(state.params, state.model_state, *inputs)
    terms = dict(out.terms)
    return {"loss": terms.pop(loss_key) if loss_key else loss, **terms}

  return eval_step
