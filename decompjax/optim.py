"""optax optimizers built from a config block (`config.optim`)."""
from __future__ import annotations

import ml_collections
import optax


def make_optimizer(optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """Builds the optax transformation named by `optim.name` ('adam', 'adamw', 'sgd').

  Fields: name, lr, b1, b2, eps, weight_decay (adamw), momentum (sgd), grad_clip (global norm, 0 = off),
  warmup_steps and decay_steps (cosine decay when decay_steps > 0, else constant).
  """
  lr = optim.lr
  warmup = optim.get("warmup_steps", 0)
  decay = optim.get("decay_steps", 0)
  if decay > 0:
    schedule = optax.warmup_cosine_decay_schedule(0.0 if warmup else lr, lr, max(warmup, 1), decay)
  elif warmup > 0:
    schedule = optax.linear_schedule(0.0, lr, warmup)
  else:
    schedule = lr
  name = optim.name
  if name == "adam":
    tx = optax.adam(schedule, b1=optim.get("b1", 0.9), b2=optim.get("b2", 0.999), eps=optim.get("eps", 1e-8))
  elif name == "adamw":
    tx = optax.adamw(schedule, b1=optim.get("b1", 0.9), b2=optim.get("b2", 0.999), eps=optim.get("eps", 1e-8),
                     weight_decay=optim.get("weight_decay", 1e-4))
  elif name == "sgd":
    tx = optax.sgd(schedule, momentum=optim.get("momentum", 0.0) or None)
  else:
    raise ValueError(f"config.optim.name={name!r} is not one of 'adam', 'adamw', 'sgd'")
  clip = optim.get("grad_clip", 0.0)
  return optax.chain(optax.clip_by_global_norm(clip), tx) if clip and clip > 0 else tx
