"""The registered families `vqvae` (STFT VQ-VAE) and `barlow_vqvae` (Barlow-Twins VQ-VAE) on UCR data.

TrainState.model_state = {'batch_stats': BatchNorm running stats, 'vq': EMA codebook}. Both change only in the
train step; evaluation applies the model with train=False, so neither is touched by eval data.

Barlow step: two independent augmentation draws of the batch (vmapped, before the gradient), one weight-shared
encoder pass over both, one EMA codebook update, projector on each view's max-pooled pre-quantisation latent,
decoder on the view picked by a fair coin. The projector is trained unless compat.frozen_projector (the
original's defect: its params got zero updates, not even weight decay).
"""
from __future__ import annotations

import functools

import jax.numpy as jnp
import optax

from decompjax import steps
from decompjax.families.vqvae import augment, data, evaluate, loss
from decompjax.families.vqvae import model as vq_model
from decompjax.family import Family
from decompjax.optim import make_optimizer


def make_tx(config) -> optax.GradientTransformation:
  return make_optimizer(config.optim)


def make_tx_barlow(config) -> optax.GradientTransformation:
  tx = make_optimizer(config.optim)
  if not config.compat.frozen_projector:
    return tx
  labels = lambda params: {k: ("frozen" if k == "projector" else "train") for k in params}
  return optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()}, labels)


def init_variables(config, rng, example):
  _, length, channels = example["x"].shape
  model = vq_model.build_vqvae(config, length, channels)
  return vq_model.split_variables(model.init({"params": rng}, jnp.zeros((2, length, channels)), train=False))


def init_variables_barlow(config, rng, example):
  augment.parse_names(config.augment.names)  # fail early on a typo
  _, length, channels = example["x"].shape
  x = jnp.zeros((2, length, channels))
  variables = vq_model.build_barlow(config, length, channels).init({"params": rng}, x, x, True, train=False)
  return vq_model.split_variables(variables)


def make_train_step(config, tx=None):
  tx = make_tx(config) if tx is None else tx
  return steps.gradient_step(tx, functools.partial(loss.vqvae_objective, config),
                             metrics_fn=functools.partial(loss.vq_metrics, config))


def make_train_step_barlow(config, tx=None):
  tx = make_tx_barlow(config) if tx is None else tx
  return steps.gradient_step(tx, functools.partial(loss.barlow_objective, config),
                             prepare=augment.two_views(config),
                             metrics_fn=functools.partial(loss.vq_metrics, config))


def make_eval_step(config, apply_fn=vq_model.eval_apply):
  """Validation pass: eval-mode outputs (nothing updated) -> reconstruction losses and code usage."""

  def eval_step(state, batch, rng):
    del rng
    return loss.eval_losses(config, apply_fn(config, state, batch["x"]), batch["x"])

  return eval_step


VQVAE = Family(name="vqvae", input_spec=data.input_spec, make_tx=make_tx, init_variables=init_variables,
               make_train_step=make_train_step, make_dataset=data.make_dataset, evaluate=evaluate.evaluate_vqvae,
               make_eval_step=make_eval_step, resolve_config=data.resolve_config,
               latents=evaluate.latents_vqvae)

BARLOW_VQVAE = Family(name="barlow_vqvae", input_spec=data.input_spec, make_tx=make_tx_barlow,
                      init_variables=init_variables_barlow, make_train_step=make_train_step_barlow,
                      make_dataset=data.make_dataset, evaluate=evaluate.evaluate_barlow,
                      make_eval_step=lambda config: make_eval_step(config, vq_model.eval_apply_barlow),
                      resolve_config=data.resolve_config, latents=evaluate.latents_barlow)
