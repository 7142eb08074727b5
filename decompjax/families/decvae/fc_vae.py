"""The frame-MLP VAE baseline of DecVAE (spec §7 `VAE_1D_FC`): an MLP VAE on the 400-d frame X alone.

It reads the same examples as DecVAE (`data.py`: frames [F, C+1, 400], level 0 = the original frame, a mel patch
or 400 samples) and ignores the components, so one prepared cache serves both and the analysis compares like with
like. Each frame is standardised (zero mean, unit variance over its 400 values) before the MLP, so the
reconstruction term has the same scale for waveform and dB-mel input. Loss per real frame (frame_valid 1):
sum-of-squares reconstruction + beta * KL(q(z|x) || N(0, I)), averaged over the real frames of the batch.
beta 0 / 0.1 / 1 are the paper's AE / beta-VAE / VAE baselines. `encode` returns mu as {"z": {"X": [B, F, d]}},
the layout DecVAE's `encode` uses, so `evaluate.evaluate` analyses both.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from decompjax import precision, steps
from decompjax.evaluation.report import Report
from decompjax.family import Family
from decompjax.optim import make_optimizer


class FrameMLPVAE(nn.Module):
  """Dense layers compute in `dtype` (decompjax/precision.py); encode / decode return float32."""
  hidden: tuple[int, ...]
  z_dim: int
  out_dim: int
  dtype: Any = jnp.float32

  def setup(self):
    dense = lambda n, name: nn.Dense(n, dtype=self.dtype, name=name)
    self.enc = [dense(h, f"enc_{i}") for i, h in enumerate(self.hidden)]
    self.mu = dense(self.z_dim, "mu")
    self.logvar = dense(self.z_dim, "logvar")
    self.dec = [dense(h, f"dec_{i}") for i, h in enumerate(reversed(self.hidden))]
    self.out = dense(self.out_dim, "out")

  def encode(self, x):
    for layer in self.enc:
      x = nn.gelu(layer(x))
    return precision.to_float32((self.mu(x), self.logvar(x)))

  def decode(self, z):
    for layer in self.dec:
      z = nn.gelu(layer(z))
    return precision.to_float32(self.out(z))

  def __call__(self, x, eps):
    mu, logvar = self.encode(x)
    return self.decode(mu + eps * jnp.exp(0.5 * logvar)), mu, logvar


def make_model(config) -> FrameMLPVAE:
  return FrameMLPVAE(hidden=tuple(config.model.hidden), z_dim=int(config.model.z_dim), out_dim=400,
                     dtype=precision.compute_dtype(config))


def frame_input(batch) -> jax.Array:
  """Level 0 (the original frame X) of every frame, standardised per frame: [B, F, 400]."""
  x = jnp.asarray(batch["frames"])[:, :, 0, :].astype(jnp.float32)
  mean = x.mean(-1, keepdims=True)
  return (x - mean) / jnp.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + 1e-5)


def init_variables(config, rng, example):
  x = frame_input(example)
  params = make_model(config).init(rng, x, jnp.zeros(x.shape[:-1] + (int(config.model.z_dim),)))["params"]
  return params, {}


def loss_fn(config, params, model_state, batch, rng):
  """Masked mean over real frames of ||x - x_hat||^2 + beta * KL; terms recon, kl, active frames."""
  del model_state
  net = make_model(config)
  x = frame_input(batch)
  eps = jax.random.normal(rng, x.shape[:-1] + (int(config.model.z_dim),))
  x_hat, mu, logvar = net.apply({"params": params}, x, eps)
  mask = jnp.asarray(batch["frame_valid"], jnp.float32)
  count = jnp.maximum(mask.sum(), 1.0)
  recon = (((x_hat - x) ** 2).sum(-1) * mask).sum() / count
  kl = ((-0.5 * (1 + logvar - mu ** 2 - jnp.exp(logvar))).sum(-1) * mask).sum() / count
  loss = recon + config.model.beta * kl
  return loss, steps.LossOut(terms={"recon": recon, "kl": kl, "frames": mask.sum()})


def encode(config, params, model_state, batch) -> dict:
  """mu of every frame's X: {"z": {"X": [B, F, z_dim]}} (deterministic)."""
  del model_state
  net = make_model(config)
  mu, _ = net.apply({"params": params}, frame_input(batch), method=FrameMLPVAE.encode)
  return {"z": {"X": mu}}


def make_tx(config):
  return make_optimizer(config.optim)


def make_train_step(config, tx=None):
  tx = make_tx(config) if tx is None else tx
  return steps.gradient_step(tx, lambda p, ms, batch, rng: loss_fn(config, p, ms, batch, rng))


def make_eval_step(config):
  return steps.loss_eval_step(lambda p, ms, batch, rng: loss_fn(config, p, ms, batch, rng))


# The data functions are DecVAE's (imported when called, so this module loads without the data stack).
def input_spec(config):
  from decompjax.families.decvae import data
  return data.input_spec(config)


def make_dataset(config, split, **kw):
  from decompjax.families.decvae import data
  return data.make_dataset(config, split, **kw)


def prepare_data(config) -> None:
  from decompjax.families.decvae import data
  data.prepare_data(config)


def evaluate(config, state, workdir: str) -> Report:
  from decompjax.families.decvae import evaluate as evaluate_lib
  return evaluate_lib.evaluate(config, state, workdir, encode_fn=encode)


def latents(config, state, max_examples: int) -> list:
  from decompjax.families.decvae import evaluate as evaluate_lib
  return evaluate_lib.latents(config, state, max_examples, encode_fn=encode)


DECVAE_FC_VAE = Family(name="decvae_fc_vae", input_spec=input_spec, make_tx=make_tx, init_variables=init_variables,
                       make_train_step=make_train_step, make_dataset=make_dataset, evaluate=evaluate,
                       make_eval_step=make_eval_step, prepare_data=prepare_data, latents=latents)
