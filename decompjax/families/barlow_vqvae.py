"""Barlow-Twins VQ-VAE family: VQ-VAE loss on one random augmented view + gamma * Barlow Twins loss.

Per step: two independent augmentation draws of the batch (vmapped, in the jitted step), one weight-shared
encoder pass over both, one EMA codebook update, projector on each view's max-pooled pre-quantisation
latent, decoder on the view picked by a fair coin. The projector is trained unless
compat.frozen_projector (the original's defect: its params got zero updates, not even weight decay).
Batch statistics (BT standardisation, cross-correlation, BatchNorm, EMA counts) are global-batch
statistics under the trainer's sharded jit; see decompjax/vqvae/barlow.py.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from decompjax.families import vqvae as base
from decompjax.families.base import Family, TrainState
from decompjax.optim import make_optimizer
from decompjax.vqvae import augment
from decompjax.vqvae.barlow import BarlowVQVAE, barlow_twins_loss
from decompjax.vqvae.evaluate import evaluate_model
from decompjax.vqvae.model import reconstruction_losses


def build(config, length: int, channels: int) -> BarlowVQVAE:
  return BarlowVQVAE(base.build_vqvae(config, length, channels), config.model.projector_width)


def aug_params(config) -> augment.AugParams:
  m = config.model
  return augment.AugParams(amp_rate=m.amp_rate, flip_p=m.flip_p, slope_rate=m.slope_rate,
                           phase_max_change=m.phase_max_change, jitter_std=m.jitter_std,
                           slice_rate=m.slice_rate, slice_p=m.slice_p)


def make_tx(config) -> optax.GradientTransformation:
  tx = make_optimizer(config.optim)
  if not config.compat.get("frozen_projector", False):
    return tx
  labels = lambda params: {k: ("frozen" if k == "projector" else "train") for k in params}
  return optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()}, labels)


def init_state(config, rng, example_batch) -> TrainState:
  augment.parse_names(config.model.augmentations)  # fail early on a typo
  _, length, channels = example_batch["x"].shape
  x = jnp.zeros((2, length, channels))
  variables = build(config, length, channels).init({"params": rng}, x, x, True, train=False)
  params, model_state = base.split_variables(variables)
  return TrainState.create(params, make_tx(config).init(params), model_state)


def make_train_step(config):
  tx = make_tx(config)
  names = augment.parse_names(config.model.augmentations)
  p = aug_params(config)

  def train_step(state: TrainState, batch, rng):
    x = batch["x"]
    model = build(config, x.shape[1], x.shape[2])
    k1, k2, k_pick, k_vq = jax.random.split(rng, 4)
    x1, x2 = augment.augment_batch(k1, x, names, p), augment.augment_batch(k2, x, names, p)
    pick_first = jax.random.bernoulli(k_pick)
    target = jnp.where(pick_first, x1, x2)

    def loss_fn(params):
      out, new_ms = model.apply({"params": params, **state.model_state}, x1, x2, pick_first, train=True,
                                rngs={"vq": k_vq}, mutable=list(state.model_state))
      terms = reconstruction_losses(target, out)
      terms["barlow_twins"] = barlow_twins_loss(out["e1"], out["e2"], config.model.bt_lambda) / config.model.projector_width
      loss = (terms["recon_time"] + terms["recon_stft"] + config.model.commitment * terms["commit"]
              + config.model.gamma * terms["barlow_twins"])
      return loss, (new_ms, terms, out["idx"])

    (loss, (ms, terms, idx)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {"loss": loss, **terms, **base.vq_metrics(config, idx), "grad_norm": optax.global_norm(grads)}
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state, model_state=ms), metrics

  return train_step


def eval_apply(config, state: TrainState, x):
  model = build(config, x.shape[1], x.shape[2])
  return model.apply({"params": state.params, **state.model_state}, x, method=BarlowVQVAE.eval_outputs)


def evaluate(config, state, workdir):
  return evaluate_model(config, state, workdir, base.load_data(config), eval_apply)


FAMILY = Family(name="barlow_vqvae", init_state=init_state, make_train_step=make_train_step,
                make_dataset=base.make_dataset, evaluate=evaluate,
                make_eval_step=lambda config: base.make_eval_step(config, eval_apply))
