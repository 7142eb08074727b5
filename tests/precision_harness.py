"""Shared by tests/test_precision*.py: one smoke preset trained a few steps in float32 and in bfloat16 on the same
random batches (config.train.dtype, decompjax/precision.py)."""
import re

import jax
import jax.numpy as jnp
import numpy as np

from decompjax import config_utils, registry

STEPS = 3
# |loss_bf16 - loss_f32| / |loss_f32| at every step. bfloat16 keeps 8 mantissa bits (relative spacing 2^-8 = 0.4 %).
# Measured on these presets (2026-12-02): <= 0.3 % at every step, except the Barlow VQ-VAE's third step, 1.4 %
# (its loss cross-correlates the projector's outputs over a batch of 4).
REL_TOL = 0.03

# Every family's smoke preset (split over two test files so that the suite's workers share them).
PRESETS = {
    "beta_vae": ("syntone_beta_vae.py:smoke", ()),
    "beta_tcvae": ("syntone_beta_tcvae.py:smoke", ()),
    "factor_vae": ("syntone_factor_vae.py:smoke", ()),
    # UCR shapes given explicitly: input_spec then reads no data
    "vqvae": ("vqvae_ucr.py:smoke", (("data.length", "96"), ("data.channels", "1"))),
    "barlow_vqvae": ("barlow_vqvae_ucr.py:smoke", (("data.length", "96"), ("data.channels", "1"))),
    "autodecompose": ("autodecompose.py:smoke", ()),
    "decvae": ("decvae_simvowels.py:smoke", ()),
    "decvae_fc_vae": ("decvae_fc_vae.py:smoke", ()),
    "convae_bss": ("convae_bss_synmix.py:smoke", ()),
}
# Keys of the batch that are masks / weights in [0, 1], not signals.
_MASK = re.compile(r"mask|valid|overlap")


def config(name, dtype):
  preset, extra = PRESETS[name]
  return config_utils.build_config(f"configs/{preset}", list(extra) + [("train.dtype", dtype)])


def _batches(family, config, n, batch_size=4):
  """n random batches shaped as the family's input_spec (signals ~N(0, 0.3^2), masks 1, labels 0/1)."""
  rng = np.random.default_rng(0)
  out = []
  for _ in range(n):
    batch = {}
    for key, spec in family.input_spec(config).items():
      shape = (batch_size,) + tuple(spec.shape[1:])
      if np.issubdtype(spec.dtype, np.floating):
        batch[key] = np.ones(shape, spec.dtype) if _MASK.search(key) else (0.3 * rng.standard_normal(shape)).astype(spec.dtype)
      else:
        batch[key] = rng.integers(0, 2, shape).astype(spec.dtype)
    if {"mixture", "voice", "music"} <= set(batch):
      batch["mixture"] = batch["voice"] + batch["music"]
    out.append(batch)
  return out


def run(name, dtype):
  cfg = config(name, dtype)
  family = registry.get_family(cfg.model.family)
  tx = family.make_tx(cfg)
  # Initialised from the float32 config in both runs: parameters are float32 and their values do not depend on
  # the compute dtype, and the second run's init is then the same program (a compilation-cache hit).
  init_cfg = config(name, "float32")
  state = family.init_state(init_cfg, jax.random.key(0), family.example_batch(init_cfg), family.make_tx(init_cfg))
  batches = _batches(family, cfg, STEPS)
  lowered = jax.jit(family.make_train_step(cfg, tx)).lower(state, batches[0], jax.random.key(1))
  hlo, step = lowered.as_text(), lowered.compile()
  losses = []
  for i, batch in enumerate(batches):
    state, metrics = step(state, batch, jax.random.key(1 + i))
    losses.append(float(metrics["loss"]))
  return state, np.array(losses), hlo


def compute_ops_in(hlo: str, dtype: str) -> int:
  """Convolutions and dot_generals of the lowered step whose result type is `dtype` ('bf16', 'f32')."""
  return len(re.findall(rf"stablehlo\.(?:convolution|dot_general)[^\n]*->\s*tensor<[0-9x]*{dtype}>", hlo))


def check_bfloat16_tracks_float32(name):
  """The bfloat16 step computes convolutions / matmuls in bf16, keeps the state float32, trains finite, and its
  losses stay within REL_TOL of float32's at every step."""
  state32, loss32, hlo32 = run(name, "float32")
  state16, loss16, hlo16 = run(name, "bfloat16")
  assert compute_ops_in(hlo32, "f32") > 0 and compute_ops_in(hlo32, "bf16") == 0
  assert compute_ops_in(hlo16, "bf16") > 0, "no convolution or matmul runs in bfloat16"
  for leaf in jax.tree.leaves((state16.params, state16.opt_state, state16.model_state)):
    if jnp.issubdtype(leaf.dtype, jnp.floating):
      assert leaf.dtype == jnp.float32
  assert np.isfinite(loss16).all(), loss16
  rel = np.abs(loss16 - loss32) / np.maximum(np.abs(loss32), 1e-6)
  assert rel.max() < REL_TOL, (loss32, loss16, rel)
