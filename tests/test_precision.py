"""config.train.dtype=bfloat16 (decompjax/precision.py) for every family's smoke preset: the step computes its
convolutions and matmuls in bfloat16, keeps parameters and optimiser state float32, trains finite, and its losses
track the float32 run's on the same batches within a stated tolerance."""
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from decompjax import config_utils, precision, registry
from decompjax.errors import ConfigError

STEPS = 3
# |loss_bf16 - loss_f32| / |loss_f32| at every step. bfloat16 keeps 8 mantissa bits (relative spacing 2^-8 = 0.4 %).
# Measured on these presets (2026-12-02): <= 0.3 % at every step, except the Barlow VQ-VAE's third step, 1.4 %
# (its loss cross-correlates the projector's outputs over a batch of 4).
REL_TOL = 0.03

# One preset per network: beta-TCVAE trains FactorVAE's / beta-VAE's VAEDeep, and the Barlow VQ-VAE runs the plain
# VQ-VAE's encoder, quantiser and decoder plus its projector.
PRESETS = {
    "beta_vae": ("syntone_beta_vae.py:smoke", ()),
    "factor_vae": ("syntone_factor_vae.py:smoke", ()),   # + the discriminator
    # UCR shapes given explicitly: input_spec then reads no data
    "barlow_vqvae": ("barlow_vqvae_ucr.py:smoke", (("data.length", "96"), ("data.channels", "1"))),
    "autodecompose": ("autodecompose.py:smoke", ()),
    "decvae": ("decvae_simvowels.py:smoke", ()),
    "decvae_fc_vae": ("decvae_fc_vae.py:smoke", ()),
    "convae_bss": ("convae_bss_synmix.py:smoke", ()),
}
# Keys of the batch that are masks / weights in [0, 1], not signals.
_MASK = re.compile(r"mask|valid|overlap")


def _config(name, dtype):
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


def _run(name, dtype):
  config = _config(name, dtype)
  family = registry.get_family(config.model.family)
  tx = family.make_tx(config)
  state = family.init_state(config, jax.random.key(0), family.example_batch(config), tx)
  batches = _batches(family, config, STEPS)
  lowered = jax.jit(family.make_train_step(config, tx)).lower(state, batches[0], jax.random.key(1))
  hlo, step = lowered.as_text(), lowered.compile()
  losses = []
  for i, batch in enumerate(batches):
    state, metrics = step(state, batch, jax.random.key(1 + i))
    losses.append(float(metrics["loss"]))
  return state, np.array(losses), hlo


def _compute_ops_in(hlo: str, dtype: str) -> int:
  """Convolutions and dot_generals of the lowered step whose result type is `dtype` ('bf16', 'f32')."""
  return len(re.findall(rf"stablehlo\.(?:convolution|dot_general)[^\n]*->\s*tensor<[0-9x]*{dtype}>", hlo))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_bfloat16_step_computes_in_bf16_keeps_float32_state_and_tracks_float32(name):
  state32, loss32, hlo32 = _run(name, "float32")
  state16, loss16, hlo16 = _run(name, "bfloat16")
  assert _compute_ops_in(hlo32, "f32") > 0 and _compute_ops_in(hlo32, "bf16") == 0
  assert _compute_ops_in(hlo16, "bf16") > 0, "no convolution or matmul runs in bfloat16"
  for leaf in jax.tree.leaves((state16.params, state16.opt_state, state16.model_state)):
    if jnp.issubdtype(leaf.dtype, jnp.floating):
      assert leaf.dtype == jnp.float32
  assert np.isfinite(loss16).all(), loss16
  rel = np.abs(loss16 - loss32) / np.maximum(np.abs(loss32), 1e-6)
  assert rel.max() < REL_TOL, (loss32, loss16, rel)


def test_every_preset_has_the_dtype_field_and_a_bad_value_is_refused():
  for preset in sorted(p.name for p in pathlib.Path("configs").glob("*.py")):
    if preset not in ("__init__.py", "common.py", "syntone_common.py"):
      assert config_utils.build_config(f"configs/{preset}", []).train.dtype == "float32", preset
  with pytest.raises(ConfigError, match="train.dtype"):
    _config("beta_vae", "float16")
  assert precision.compute_dtype(_config("beta_vae", "bfloat16")) == jnp.bfloat16
