"""beta-VAE (and the plain VAE) on SynTone: VAEDeep + `losses.vae.beta_vae_loss`."""
from __future__ import annotations

import functools

from decompjax.families import steps
from decompjax.families.base import Family
from decompjax.losses.vae import beta_vae_loss
from decompjax.optim import make_optimizer
from decompjax.syntone import common
from decompjax.syntone.evaluate import evaluate


def _loss(config, params, batch, rng):
  x = common.model_input(config, batch["waveform"])
  x_hat, mu, logvar, _ = common.make_model(config).apply({"params": params}, x, rng)
  return beta_vae_loss(x_hat, x, mu, logvar, config.model.beta, config.loss.reduction)


def make_train_step(config):
  return steps.gradient_step(make_optimizer(config.optim), functools.partial(_loss, config))


def make_eval_step(config):
  return steps.loss_eval_step(functools.partial(_loss, config))


FAMILY = Family(name="beta_vae", init_state=common.init_vae_state, make_train_step=make_train_step,
                make_dataset=common.make_dataset, evaluate=evaluate, make_eval_step=make_eval_step)
