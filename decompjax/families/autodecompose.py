"""Autodecompose family: E_s(A_s(base)), E_c(A_c(base)) -> G -> MSE against the base (a deterministic AE).

The augmentations run inside the jitted step, vmapped over the batch with one key per example, so the host
only feeds crops. BatchNorm (conv archs) keeps its running statistics in `TrainState.model_state['batch_stats']`,
updated every train step; evaluation and embeddings use the running statistics. Under the trainer's jit over a
('data',) mesh the BatchNorm batch means are global-batch means, so the step is the same on 1 or N devices.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from decompjax.autodecompose import augment, data, inference
from decompjax.autodecompose.evaluate import evaluate
from decompjax.families.base import Family, TrainState
from decompjax.optim import make_optimizer


def augment_config(config) -> augment.AugmentConfig:
  return augment.from_preset(config.augment.preset)


def init_state(config, rng, example_batch) -> TrainState:
  model = inference.make_model(config)
  x = jnp.zeros((1,) + tuple(example_batch["mel"].shape[1:]), jnp.float32)
  variables = model.init(rng, x, x, train=False)
  params = variables["params"]
  model_state = {k: v for k, v in variables.items() if k != "params"}
  return TrainState.create(params, make_optimizer(config.optim).init(params), model_state)


def _forward(config, model, state, params, batch, rng, train: bool):
  base, a_s, a_c = augment.augment_batch(rng, batch["mel"], augment_config(config))
  variables = {"params": params, **state.model_state}
  if train and state.model_state:
    recon, updates = model.apply(variables, a_s, a_c, train=True, mutable=list(state.model_state))
  else:
    recon, updates = model.apply(variables, a_s, a_c, train=train), state.model_state
  return jnp.mean((recon - base) ** 2), updates


def make_train_step(config):
  model = inference.make_model(config)
  tx = make_optimizer(config.optim)

  def train_step(state: TrainState, batch, rng):
    def loss_fn(params):
      return _forward(config, model, state, params, batch, rng, train=True)

    (loss, model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {"loss": loss, "grad_norm": optax.global_norm(grads)}
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state,
                         model_state=dict(model_state)), metrics

  return train_step


def make_eval_step(config):
  model = inference.make_model(config)

  def eval_step(state: TrainState, batch, rng):
    loss, _ = _forward(config, model, state, state.params, batch, rng, train=False)
    return {"loss": loss}

  return eval_step


FAMILY = Family(name="autodecompose", init_state=init_state, make_train_step=make_train_step,
                make_dataset=data.make_dataset, evaluate=evaluate, make_eval_step=make_eval_step)
