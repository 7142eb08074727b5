"""The DecVAE Family: two AdamW optimisers (Z and S branch) over one loss, the decomposed-data pipeline, the
latent analysis.

Optimisers (spec §6): the original builds one AdamW for the parameters named *_z and one for *_s / pool, each
with its own learning rate and warm-up schedule, and clips the global gradient norm of the whole model first.
Here: clip_by_global_norm(config.optim.grad_clip) -> optax.multi_transform({'z': config.optim, 's':
config.optim.s}) labelled by branch (params['z_branch'] / params['s_branch']). Schedules (HF get_scheduler):
'constant', 'constant_with_warmup' (linear 0 -> lr over warmup_steps, then lr), 'linear' (warm-up, then linear
decay to 0 at config.train.steps).
The data (D3: data.py) and evaluation (D4: evaluate.py) modules are imported when first called, so the model
and loss work without them.
"""
from __future__ import annotations

import jax
import optax

from decompjax import steps
from decompjax.errors import ConfigError
from decompjax.family import Family
from decompjax.families.decvae import loss, model

SCHEDULES = ("constant", "constant_with_warmup", "linear")
GROUPS = ("z", "s")


def schedule(o, total_steps: int):
  """The learning-rate schedule of one optimiser group (HF get_scheduler semantics)."""
  lr, warmup = float(o.lr), int(o.warmup_steps)
  if o.schedule == "constant" or (o.schedule == "constant_with_warmup" and warmup == 0):
    return optax.constant_schedule(lr)
  if o.schedule == "constant_with_warmup":
    return optax.linear_schedule(0.0, lr, warmup)
  if o.schedule == "linear":
    decay = optax.linear_schedule(lr, 0.0, max(total_steps - warmup, 1))
    return optax.join_schedules([optax.linear_schedule(0.0, lr, max(warmup, 1)), decay], [warmup]) if warmup \
        else decay
  raise ConfigError(f"optimiser schedule {o.schedule!r} is not one of {', '.join(SCHEDULES)}")


def _adamw(o, total_steps: int) -> optax.GradientTransformation:
  if o.name != "adamw":
    raise ConfigError(f"decvae optimisers are AdamW (the original's); got name={o.name!r}")
  return optax.adamw(schedule(o, total_steps), b1=o.b1, b2=o.b2, eps=o.eps, weight_decay=o.weight_decay)


def param_labels(params):
  """'z' for the Z branch's parameters, 's' for the S branch's (the original's *_z vs *_s / pool groups)."""
  return {k: jax.tree.map(lambda _: "s" if k.startswith("s_") else "z", v) for k, v in params.items()}


def make_tx(config) -> optax.GradientTransformation:
  total = int(config.train.steps)
  tx = optax.multi_transform({"z": _adamw(config.optim, total), "s": _adamw(config.optim.s, total)}, param_labels)
  clip = float(config.optim.grad_clip)
  return optax.chain(optax.clip_by_global_norm(clip), tx) if clip > 0 else tx


def make_train_step(config, tx=None):
  tx = make_tx(config) if tx is None else tx
  return steps.gradient_step(tx, loss.make_loss_fn(config, train=True), loss_key="total")


def input_spec(config):
  from decompjax.families.decvae import data
  return data.input_spec(config)


def make_dataset(config, split, *, process_index=0, process_count=1):
  from decompjax.families.decvae import data
  return data.make_dataset(config, split, process_index=process_index, process_count=process_count)


def prepare_data(config):
  from decompjax.families.decvae import data
  return data.prepare_data(config)


def evaluate(config, state, workdir):
  from decompjax.families.decvae import evaluate as evaluate_lib
  return evaluate_lib.evaluate(config, state, workdir)


def latents(config, state, max_examples):
  from decompjax.families.decvae import evaluate as evaluate_lib
  return evaluate_lib.latents(config, state, max_examples)


DECVAE = Family(name="decvae", input_spec=input_spec, make_tx=make_tx, init_variables=model.init_variables,
                make_train_step=make_train_step, make_dataset=make_dataset, evaluate=evaluate,
                make_eval_step=loss.make_eval_step, prepare_data=prepare_data, latents=latents)
