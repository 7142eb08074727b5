"""STFT VQ-VAE family on UCR data: loss = time MSE + STFT MSE + beta * commitment; EMA codebook.

TrainState.model_state = {'batch_stats': BatchNorm running stats, 'vq': EMA codebook}. Both change only
in the train step; evaluation applies the model with train=False, so neither is touched by eval data.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from decompjax.data import ucr
from decompjax.families.base import Family, TrainState
from decompjax.optim import make_optimizer
from decompjax.vqvae import quantizer
from decompjax.vqvae.evaluate import evaluate_model
from decompjax.vqvae.model import VQVAE, reconstruction_losses


def load_data(config) -> ucr.UCRData:
  return ucr.load_ucr(ucr.resolve_dir(config.data.ucr_dir), config.data.name,
                      config.data.get("standardize", True), config.data.get("nan_policy", "error"))


def build_vqvae(config, length: int, channels: int) -> VQVAE:
  m = config.model
  return VQVAE(length=length, channels=channels, n_fft=m.n_fft, hop=m.hop, window=m.window, dim=m.dim,
               n_res=m.n_resnet_blocks, downsampled_width=m.downsampled_width, codebook_size=m.codebook_size,
               decay=m.decay, kmeans_init=m.kmeans_init, kmeans_iters=m.kmeans_iters,
               dead_code_threshold=m.dead_code_threshold,
               drop_odd_last=config.compat.get("istft_drop_odd_last", False))


def make_dataset(config, split, *, process_index=0, process_count=1):
  """train -> official TRAIN; validation/test -> official TEST (the original validates on TEST too)."""
  split = {"validation": "test", "eval": "test"}.get(split, split)
  return ucr.make_dataset(load_data(config), split, process_index=process_index, process_count=process_count)


def split_variables(variables) -> tuple[dict, dict]:
  variables = dict(variables)
  return variables.pop("params"), variables


def init_state(config, rng, example_batch) -> TrainState:
  _, length, channels = example_batch["x"].shape
  model = build_vqvae(config, length, channels)
  params, model_state = split_variables(model.init({"params": rng}, jnp.zeros((2, length, channels)), train=False))
  return TrainState.create(params, make_optimizer(config.optim).init(params), model_state)


def vq_metrics(config, idx) -> dict:
  perplexity, entropy = quantizer.code_usage(idx, config.model.codebook_size)
  return {"perplexity": perplexity, "code_entropy": entropy}


def make_train_step(config):
  tx = make_optimizer(config.optim)

  def train_step(state: TrainState, batch, rng):
    x = batch["x"]
    model = build_vqvae(config, x.shape[1], x.shape[2])

    def loss_fn(params):
      out, new_ms = model.apply({"params": params, **state.model_state}, x, train=True, rngs={"vq": rng},
                                mutable=list(state.model_state))
      terms = reconstruction_losses(x, out)
      loss = terms["recon_time"] + terms["recon_stft"] + config.model.commitment * terms["commit"]
      return loss, (new_ms, terms, out["idx"])

    (loss, (ms, terms, idx)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {"loss": loss, **terms, **vq_metrics(config, idx), "grad_norm": optax.global_norm(grads)}
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state, model_state=ms), metrics

  return train_step


def eval_apply(config, state: TrainState, x):
  """Eval-mode outputs (BN running stats, frozen codebook) of the plain model; jit-compatible."""
  model = build_vqvae(config, x.shape[1], x.shape[2])
  return model.apply({"params": state.params, **state.model_state}, x, method=VQVAE.eval_outputs)


def make_eval_step(config, apply_fn=eval_apply):
  def eval_step(state: TrainState, batch, rng):
    del rng
    out = apply_fn(config, state, batch["x"])
    terms = reconstruction_losses(batch["x"], out)
    return {"loss": terms["recon_time"] + terms["recon_stft"], **terms, **vq_metrics(config, out["idx"])}

  return eval_step


def evaluate(config, state, workdir):
  return evaluate_model(config, state, workdir, load_data(config), eval_apply)


FAMILY = Family(name="vqvae", init_state=init_state, make_train_step=make_train_step, make_dataset=make_dataset,
                evaluate=evaluate, make_eval_step=make_eval_step)
