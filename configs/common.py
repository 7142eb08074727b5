"""Fields every preset shares. Each `configs/<name>.py:get_config(arg)` starts from `base_config()`.

THE CONFIG RULE (README "Configs"; every family and preset follows it):
  config.model    the family, its architecture and EVERY objective weight (beta, gamma, alpha, VQ commitment,
                  Barlow lambda, FactorVAE gamma and KL weight, the TC estimator, the loss reduction)
  config.optim    the optimiser; a second one has its own complete group (a discriminator's: config.optim.disc,
                  every field explicit). Defaults live here only: decompjax/optim.py has no fallbacks
  config.augment  augmentations
  config.compat   switches that reproduce a defect of an original implementation (off = fixed)
  config.data     the dataset (name, dir, grid / split, shuffle buffer)
  config.train, config.mesh, config.eval, seed, init_from: the run itself
Command-line flags are --snake_case; any field is set with --config.a.b=value.

`arg` is the string after ':' in `--config=configs/x.py:arg`; `parse_arg` turns 'smoke,steps=3' into a
ConfigDict so presets can offer tiny variants for tests without a second file.
"""
from __future__ import annotations

import ml_collections

from decompjax.errors import ConfigError

_TRUE = ("", "1", "true", "yes", "on")   # '' = the bare name: 'smoke' means smoke=true
_FALSE = ("0", "false", "no", "off")
_KINDS = {int: ("integer", "an integer"), float: ("number", "a number"), str: ("text", "text")}


def _parse_value(key: str, text: str, default):
  """Text after '=' typed like `default`; text that does not parse is an error, never a silent default."""
  if isinstance(default, bool):
    if text.lower() in _TRUE + _FALSE:
      return text.lower() in _TRUE
    raise ConfigError(f"config argument {key!r}={text!r}: expected a boolean: true/false, 1/0, yes/no, on/off "
                      f"(or {key!r} alone for true)")
  kind = type(default)
  name, expected = _KINDS.get(kind, (kind.__name__, kind.__name__))
  if not text:
    raise ConfigError(f"config argument {key!r} needs a value: {key}=<{name}>")
  try:
    return kind(text)
  except ValueError:
    raise ConfigError(f"config argument {key!r}={text!r}: expected {expected}") from None


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """'smoke,batch=8' -> {'smoke': True, 'batch': 8} typed after `defaults` (unknown keys are an error)."""
  out = ml_collections.ConfigDict(dict(defaults))
  for item in (arg or "").split(","):
    item = item.strip()
    if not item:
      continue
    key, _, value = item.partition("=")
    key = key.strip()
    if key not in out:
      raise ConfigError(f"unknown config argument {key!r}; valid: {', '.join(sorted(out.keys()))}")
    out[key] = _parse_value(key, value.strip(), defaults[key])
  return out


def base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  # Path of a previous workdir whose latest parameters initialise this run (fine-tuning); '' = none.
  c.init_from = ""

  c.model = ml_collections.ConfigDict()
  c.model.family = ""

  c.data = ml_collections.ConfigDict()
  c.data.name = ""
  c.data.dir = ""            # '' -> <workdir>/../data_cache or the family's default
  c.data.shuffle_buffer = 10_000

  c.train = ml_collections.ConfigDict()
  c.train.steps = 1000
  c.train.batch_size = 64     # global batch, split over devices and hosts
  c.train.log_every = 50
  c.train.ckpt_every = 500
  c.train.keep_ckpts = 3
  c.train.eval_every = 0      # validation-loss pass while training; 0 = off
  c.train.eval_batches = 4
  c.train.progress = True     # tqdm progress bar (process 0 only)
  c.train.eval_at_end = True  # run the family's evaluation (as `decompjax eval`) after the last step
  # Best-by-validation checkpoint: '' = off; else a metric of the validation pass ('val/loss' or 'loss'; see the
  # family's make_eval_step), kept in <workdir>/checkpoints_best/ beside the last keep_ckpts and written only when
  # it improves. Needs eval_every > 0 and a family with make_eval_step.
  c.train.keep_best_by = ""
  c.train.keep_best_mode = "min"  # 'min' or 'max': which way keep_best_by improves
  # Stop after this many validation passes without a new best keep_best_by (0 = off; needs keep_best_by); the
  # final checkpoint is still written.
  c.train.early_stop_patience = 0
  # Compute dtype of the networks (decompjax/precision.py): 'float32', or 'bfloat16' for mixed precision.
  # Parameters, optimiser state, FFT/mel front ends and loss reductions stay float32 either way.
  c.train.dtype = "float32"

  c.optim = ml_collections.ConfigDict()
  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.optim.b1 = 0.9
  c.optim.b2 = 0.999
  c.optim.eps = 1e-8
  c.optim.weight_decay = 0.0
  c.optim.momentum = 0.0
  c.optim.grad_clip = 0.0
  c.optim.warmup_steps = 0
  c.optim.decay_steps = 0

  c.mesh = ml_collections.ConfigDict()
  c.mesh.num_devices = 0     # 0 = every visible device
  # JAX devices a CPU host is split into (decompjax/cpu_devices.py): 1 = JAX's one device on all cores;
  # 0 = auto (2 per core, power of two, <= 8). No effect on GPU/TPU. --cpu_devices wins.
  c.mesh.cpu_devices = 1
  # ZeRO-1: each optimizer-state leaf split over the 'data' axis along its largest axis the device count divides
  # (sharding.zero1); parameters and model state stay replicated. Same results as replicated (tested).
  c.mesh.shard_opt_state = False
  # FSDP: the parameters split the same way too (and with them the optimizer state); XLA gathers each layer's
  # weights inside the step. BatchNorm statistics / codebooks (model state) stay replicated.
  c.mesh.shard_params = False
  # Tensor parallelism: > 1 = a 2-D ('data', 'model') mesh of shape (devices / model_parallel, model_parallel);
  # batches are split over 'data' only, and parameter / optimizer-state leaves of >= model_parallel_min_size
  # elements over 'model' (last axis, else the one before: sharding.leaf_sharding). Must divide the devices (and,
  # on several hosts, each host's devices).
  c.mesh.model_parallel = 1
  c.mesh.model_parallel_min_size = 2 ** 16   # = train.DEFAULT_MODEL_PARALLEL_MIN_SIZE

  c.eval = ml_collections.ConfigDict()
  c.eval.num_examples = 2048
  c.eval.batch_size = 256
  return c
