"""Autodecompose's objective: MSE of G(E_s(A_s(base)), E_c(A_c(base))) against the base (a deterministic AE).

The augmentations run inside the loss (so inside the differentiated function of the train step), vmapped over
the batch with one key per example: the host only feeds crops. Keep them there: moving them out of the gradient
changes the compiled step (decompjax/steps.py).
"""
from __future__ import annotations

import jax.numpy as jnp

from decompjax import steps
from decompjax.families.autodecompose import augment
from decompjax.families.autodecompose.model import Autodecompose, make_model


def reconstruction_loss(config, model: Autodecompose, params, model_state, batch, rng, train: bool):
  """-> (mse, LossOut({}, model_state')): the BatchNorm statistics are updated in train mode (when the arch has
  any) and returned unchanged in eval mode (running averages)."""
  base, a_s, a_c = augment.augment_batch(rng, batch["mel"], augment.from_config(config))
  variables = {"params": params, **model_state}
  if train and model_state:
    recon, updates = model.apply(variables, a_s, a_c, train=True, mutable=list(model_state))
  else:
    recon, updates = model.apply(variables, a_s, a_c, train=train), model_state
  return jnp.mean((recon - base) ** 2), steps.LossOut({}, updates)


def make_eval_step(config):
  """eval_step(state, batch, rng) -> {'loss'}: the reconstruction MSE in eval mode (running BatchNorm
  statistics) under the augmentations drawn from rng."""
  model = make_model(config)
  return steps.loss_eval_step(
      lambda p, ms, batch, rng: reconstruction_loss(config, model, p, ms, batch, rng, train=False))
