"""optax optimizers built from a config block (`config.optim`)."""
from __future__ import annotations

import ml_collections
import optax

from decompjax.errors import ConfigError


def make_optimizer(optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """Builds the optax transformation named by `optim.name` ('adam', 'adamw', 'sgd').

  Fields: name, lr, b1, b2, eps, weight_decay (adamw), momentum (sgd), grad_clip (global norm, 0 = off),
  warmup_steps and decay_steps (cosine decay when decay_steps > 0, else constant). Every field is read without a
  fallback: configs/common.py is the one source of defaults (a fallback here once disagreed with it).
  """
  lr = optim.lr
  warmup = optim.warmup_steps
  decay = optim.decay_steps
  if decay > 0:
    schedule = optax.warmup_cosine_decay_schedule(0.0 if warmup else lr, lr, max(warmup, 1), decay)
  elif warmup > 0:
    schedule = optax.linear_schedule(0.0, lr, warmup)
  else:
    schedule = lr
  name = optim.name
  if name == "adam":
    tx = optax.adam(schedule, b1=optim.b1, b2=optim.b2, eps=optim.eps)
  elif name == "adamw":
    tx = optax.adamw(schedule, b1=optim.b1, b2=optim.b2, eps=optim.eps, weight_decay=optim.weight_decay)
  elif name == "sgd":
    tx = optax.sgd(schedule, momentum=optim.momentum or None)
  else:
    raise ConfigError(f"config.optim.name={name!r} is not one of 'adam', 'adamw', 'sgd'")
  clip = optim.grad_clip
  return optax.chain(optax.clip_by_global_norm(clip), tx) if clip > 0 else tx
