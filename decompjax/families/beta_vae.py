"""beta-VAE (and the plain VAE, beta=1) on SynTone: VAEDeep + `losses.vae.beta_vae_loss`."""
from __future__ import annotations

import jax
import optax

from decompjax.families.base import Family, TrainState
from decompjax.losses.vae import beta_vae_loss
from decompjax.optim import make_optimizer
from decompjax.syntone import common
from decompjax.syntone.evaluate import evaluate


def init_state(config, rng, example_batch) -> TrainState:
  params = common.init_vae_params(config, rng, example_batch)
  return TrainState.create(params, make_optimizer(config.optim).init(params))


def _loss(config, params, batch, rng):
  x = common.model_input(config, batch["waveform"])
  x_hat, mu, logvar, _ = common.make_model(config).apply({"params": params}, x, rng)
  loss, terms = beta_vae_loss(x_hat, x, mu, logvar, config.loss.beta, config.loss.reduction)
  return loss, terms


def make_train_step(config):
  tx = make_optimizer(config.optim)

  def train_step(state: TrainState, batch, rng):
    (loss, terms), grads = jax.value_and_grad(lambda p: _loss(config, p, batch, rng), has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {"loss": loss, **terms, "grad_norm": optax.global_norm(grads)}
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state), metrics

  return train_step


def make_eval_step(config):
  def eval_step(state: TrainState, batch, rng):
    loss, terms = _loss(config, state.params, batch, rng)
    return {"loss": loss, **terms}

  return eval_step


FAMILY = Family(name="beta_vae", init_state=init_state, make_train_step=make_train_step,
                make_dataset=common.make_dataset, evaluate=evaluate, make_eval_step=make_eval_step)
