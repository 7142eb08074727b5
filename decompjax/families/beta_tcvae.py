"""beta-TCVAE on SynTone: VAEDeep + `losses.tc.beta_tcvae_loss` (the original trainer.py's model 2).

N in the MI / TC estimators is the training-set size: `loss.dataset_size`, where 0 (the default) means the size
of the train split of `config.data.grid` (25,600 for the full grid, as the original's `n_data=len(train)`).
The TC estimator runs on the global batch (see `decompjax.losses.tc`), so 1 and N devices agree.
"""
from __future__ import annotations

import functools

from decompjax.data import syntone
from decompjax.families import steps
from decompjax.families.base import Family
from decompjax.losses.tc import ESTIMATORS, beta_tcvae_loss
from decompjax.optim import make_optimizer
from decompjax.syntone import common
from decompjax.syntone.evaluate import evaluate


def dataset_size(config) -> int:
  """loss.dataset_size if positive, else the number of clips in the grid's train split."""
  if config.loss.dataset_size > 0:
    return int(config.loss.dataset_size)
  if config.loss.dataset_size < 0:
    raise ValueError(f"loss.dataset_size must be >= 0 (0 = from the data), got {config.loss.dataset_size}")
  train, _ = syntone.split_indices(common.grid_from_config(config).num_examples)
  return len(train)


def _loss(config, n_data, params, batch, rng):
  x = common.model_input(config, batch["waveform"])
  x_hat, mu, logvar, z = common.make_model(config).apply({"params": params}, x, rng)
  l = config.loss
  return beta_tcvae_loss(x_hat, x, z, mu, logvar, alpha=l.alpha, beta=l.beta, gamma=l.gamma, dataset_size=n_data,
                         estimator=l.estimator, reduction=l.reduction)


def _check(config) -> int:
  if config.loss.estimator not in ESTIMATORS:
    raise ValueError(f"loss.estimator={config.loss.estimator!r} is not one of {ESTIMATORS}")
  return dataset_size(config)


def make_train_step(config):
  return steps.gradient_step(make_optimizer(config.optim), functools.partial(_loss, config, _check(config)))


def make_eval_step(config):
  return steps.loss_eval_step(functools.partial(_loss, config, _check(config)))


FAMILY = Family(name="beta_tcvae", init_state=common.init_vae_state, make_train_step=make_train_step,
                make_dataset=common.make_dataset, evaluate=evaluate, make_eval_step=make_eval_step)
