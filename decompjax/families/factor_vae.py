"""FactorVAE on SynTone (the original trainer.py's model 3): VAEDeep + a 6x1000 discriminator, two optimizers.

One step = the original `FactorKLoss.forward`: the batch is split in halves; half 1 trains the VAE on
rec + kl_weight * KL + gamma * TC(D(z1)); half 2 is encoded, sampled and permuted per dimension (detached) and the discriminator
learns 0.5 [CE(D(z1), real) + CE(D(z_perm), permuted)]. Both optimizers (VAE: `config.optim`; discriminator: Adam
`loss.disc_lr`, betas (`loss.disc_b1`, `loss.disc_b2`)) update in the same jitted step from the same parameters.

Gradients: the VAE objective sees the discriminator through `stop_gradient` (the discriminator is not trained to
raise TC), and the discriminator loss sees z1 through `stop_gradient` (it does not train the encoder). The
original does not detach z1 there, so its discriminator loss also pushes gradients into the encoder;
`loss.leak_disc_grad=True` reproduces that (with the original's weight relative to the reconstruction).

Batch statistics (the permutation, the half-batch split) are global: under jit on the ('data',) mesh the halves
and the permutation span every device, and the result equals a single-device run.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from decompjax.families.base import Family, TrainState
from decompjax.losses import factor
from decompjax.models.discriminator import Discriminator
from decompjax.optim import make_optimizer
from decompjax.syntone import common
from decompjax.syntone.evaluate import evaluate


def make_discriminator(config) -> Discriminator:
  return Discriminator(hidden_units=config.loss.disc_hidden, num_layers=config.loss.disc_layers)


def disc_optimizer(config) -> optax.GradientTransformation:
  return optax.adam(config.loss.disc_lr, b1=config.loss.disc_b1, b2=config.loss.disc_b2)


def init_state(config, rng, example_batch) -> TrainState:
  r_vae, r_disc = jax.random.split(rng)
  vae = common.init_vae_params(config, r_vae, example_batch)
  disc = make_discriminator(config).init(r_disc, jnp.zeros((1, config.model.latent_dim), jnp.float32))["params"]
  params = {"vae": vae, "disc": disc}
  opt_state = {"vae": make_optimizer(config.optim).init(vae), "disc": disc_optimizer(config).init(disc)}
  return TrainState.create(params, opt_state)


def _sample_latent(model, vae_params, x, rng):
  mu, logvar = model.apply({"params": vae_params}, x, method=model.encode)
  return mu + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mu.shape, mu.dtype)


def objective(config, params, x, rng):
  """Returns (vae_loss + disc_loss, aux). Its gradient w.r.t. params['vae'] is that of the VAE objective (plus the
  discriminator loss's if loss.leak_disc_grad); w.r.t. params['disc'] that of the discriminator loss only."""
  if x.shape[0] < 2 or x.shape[0] % 2:
    raise ValueError(f"FactorVAE splits each batch in halves: the batch size must be even and >= 2, got {x.shape[0]}")
  model, disc = common.make_model(config), make_discriminator(config)
  half = x.shape[0] // 2
  x1, x2 = x[:half], x[half:]
  r_vae, r_z2, r_perm = jax.random.split(rng, 3)
  sg = jax.lax.stop_gradient
  z_perm = sg(factor.permute_dims(r_perm, _sample_latent(model, params["vae"], x2, r_z2)))

  x_hat, mu, logvar, z1 = model.apply({"params": params["vae"]}, x1, r_vae)
  logits_vae = disc.apply({"params": sg(params["disc"])}, z1)
  vae_loss, terms = factor.factor_vae_loss(x_hat, x1, mu, logvar, logits_vae, config.loss.gamma,
                                           config.loss.reduction, config.loss.kl_weight)
  if config.loss.leak_disc_grad:
    # The original adds the discriminator loss's gradient to a VAE loss summed over the half batch; against a
    # per-sample VAE loss the same relative weight is 1/half (Adam is invariant to the overall scale only).
    scale = 1.0 if config.loss.reduction == "syntone" else 1.0 / half
    z1_disc = sg(z1) + scale * (z1 - sg(z1))  # value z1, gradient scaled
  else:
    z1_disc = sg(z1)
  logits = disc.apply({"params": params["disc"]}, jnp.concatenate([z1_disc, z_perm]))
  logits_real, logits_perm = logits[:half], logits[half:]
  disc_loss = factor.discriminator_loss(logits_real, logits_perm)
  aux = {"vae_loss": vae_loss, **terms, "disc_loss": disc_loss,
         "disc_accuracy": factor.discriminator_accuracy(logits_real, logits_perm)}
  return vae_loss + disc_loss, aux


def make_train_step(config):
  if config.train.batch_size < 2 or config.train.batch_size % 2:
    raise ValueError(f"FactorVAE needs an even train.batch_size (split in halves), got {config.train.batch_size}")
  tx_vae, tx_disc = make_optimizer(config.optim), disc_optimizer(config)

  def train_step(state: TrainState, batch, rng):
    x = common.model_input(config, batch["waveform"])
    grads, aux = jax.grad(lambda p: objective(config, p, x, rng), has_aux=True)(state.params)
    up_vae, os_vae = tx_vae.update(grads["vae"], state.opt_state["vae"], state.params["vae"])
    up_disc, os_disc = tx_disc.update(grads["disc"], state.opt_state["disc"], state.params["disc"])
    params = {"vae": optax.apply_updates(state.params["vae"], up_vae),
              "disc": optax.apply_updates(state.params["disc"], up_disc)}
    metrics = {"loss": aux.pop("vae_loss"), **aux, "grad_norm": optax.global_norm(grads["vae"]),
               "disc_grad_norm": optax.global_norm(grads["disc"])}
    return state.replace(step=state.step + 1, params=params, opt_state={"vae": os_vae, "disc": os_disc}), metrics

  return train_step


def make_eval_step(config):
  def eval_step(state: TrainState, batch, rng):
    _, aux = objective(config, state.params, common.model_input(config, batch["waveform"]), rng)
    return {"loss": aux.pop("vae_loss"), **aux}

  return eval_step


FAMILY = Family(name="factor_vae", init_state=init_state, make_train_step=make_train_step,
                make_dataset=common.make_dataset, evaluate=evaluate, make_eval_step=make_eval_step)
