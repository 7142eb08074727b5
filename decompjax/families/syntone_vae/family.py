"""BETA_VAE (also the plain VAE, beta = 1/64), BETA_TCVAE and FACTOR_VAE: the SynTone VAE families.

All three train VAEDeep on the mel front end of SynTone clips and share data, init and evaluation; they differ in
the objective (loss.py). FactorVAE adds a discriminator with its own optimiser (config.optim.disc): params and
opt_state are {'vae': ..., 'disc': ...}, both updated in the same jitted step from the same parameters.
"""
from __future__ import annotations

import functools

import jax

from decompjax import steps
from decompjax.errors import ConfigError
from decompjax.families.syntone_vae import data, evaluate, loss, model
from decompjax.family import Family
from decompjax.optim import make_optimizer


def _wrap(out):
  value, terms = out
  return value, steps.LossOut(terms)


# --- beta-VAE and beta-TCVAE: VAEDeep, one optimiser, no model state ------------------------------------------------

def _vae_tx(config):
  return make_optimizer(config.optim)


def _vae_variables(config, rng, example):
  del example  # shapes come from the config
  return model.init_vae_params(config, rng), {}


def _beta_vae_train_step(config, tx=None):
  tx = _vae_tx(config) if tx is None else tx
  return steps.gradient_step(tx, lambda p, ms, batch, rng: _wrap(loss.beta_vae_objective(config, p, batch, rng)))


def _beta_vae_eval_step(config):
  return steps.loss_eval_step(lambda p, ms, batch, rng: _wrap(loss.beta_vae_objective(config, p, batch, rng)))


def _beta_tcvae_train_step(config, tx=None):
  tx = _vae_tx(config) if tx is None else tx
  objective = functools.partial(loss.beta_tcvae_objective, config, loss.check_estimator(config))
  return steps.gradient_step(tx, lambda p, ms, batch, rng: _wrap(objective(p, batch, rng)))


def _beta_tcvae_eval_step(config):
  objective = functools.partial(loss.beta_tcvae_objective, config, loss.check_estimator(config))
  return steps.loss_eval_step(lambda p, ms, batch, rng: _wrap(objective(p, batch, rng)))


# --- FactorVAE: VAE + discriminator, two optimisers ------------------------------------------------------------------

def _factor_tx(config):
  # A dict, not optax.multi_transform: the opt_state stays {'vae', 'disc'} as checkpoints hold it.
  return {"vae": make_optimizer(config.optim), "disc": make_optimizer(config.optim.disc)}


def _factor_variables(config, rng, example):
  del example
  r_vae, r_disc = jax.random.split(rng)
  return {"vae": model.init_vae_params(config, r_vae), "disc": model.init_discriminator_params(config, r_disc)}, {}


def _factor_prepare(config):
  # The front end runs outside the gradient for FactorVAE (as it always has; see loss.py).
  return lambda batch, rng: (model.model_input(config, batch["waveform"]), rng)


def _factor_loss(config):
  return lambda p, ms, x, rng: _wrap(loss.factor_vae_objective(config, p, x, rng))


def _factor_train_step(config, tx=None):
  if config.train.batch_size < 2 or config.train.batch_size % 2:
    raise ConfigError(f"FactorVAE needs an even train.batch_size (split in halves), got {config.train.batch_size}")
  tx = _factor_tx(config) if tx is None else tx
  return steps.gradient_step(tx, _factor_loss(config), prepare=_factor_prepare(config), loss_key="vae_loss",
                             grad_norms=(("grad_norm", "vae"), ("disc_grad_norm", "disc")))


def _factor_eval_step(config):
  return steps.loss_eval_step(_factor_loss(config), prepare=_factor_prepare(config), loss_key="vae_loss")


_SHARED = dict(input_spec=data.input_spec, make_dataset=data.make_dataset, prepare_data=data.prepare_data,
               evaluate=evaluate.evaluate, latents=evaluate.latents)

BETA_VAE = Family(name="beta_vae", make_tx=_vae_tx, init_variables=_vae_variables,
                  make_train_step=_beta_vae_train_step, make_eval_step=_beta_vae_eval_step, **_SHARED)
BETA_TCVAE = Family(name="beta_tcvae", make_tx=_vae_tx, init_variables=_vae_variables,
                    make_train_step=_beta_tcvae_train_step, make_eval_step=_beta_tcvae_eval_step, **_SHARED)
FACTOR_VAE = Family(name="factor_vae", make_tx=_factor_tx, init_variables=_factor_variables,
                    make_train_step=_factor_train_step, make_eval_step=_factor_eval_step, **_SHARED)
