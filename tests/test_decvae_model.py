"""The DecVAE encoder: latent shapes per branch, the conv stack, per-frame LayerNorm vs the original's batch
statistics, missing-component filling, the paper-size Z stack, and the config rules."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from decompjax import config_utils, config_validation
from decompjax.errors import ConfigError
from decompjax.families.decvae import family, loss, model

import decvae_synthetic

SMOKE = "configs/decvae_simvowels.py:smoke"


@pytest.fixture(scope="module")
def smoke():
  return config_utils.build_config(SMOKE, [])


def _init(config, batch):
  """Jitted init (eager init would dispatch the forward pass op by op)."""
  return jax.jit(lambda r: model.init_variables(config, r, batch))(jax.random.key(0))


def _encoder(config):
  return jax.jit(lambda p, b: model.encode(config, p, {}, b))


def test_encode_returns_mu_per_subspace_for_each_branch(smoke):
  batch = decvae_synthetic.synthetic_batch(smoke, 2)
  params, state = _init(smoke, batch)
  assert state == {}
  out = _encoder(smoke)(params, batch)
  f, c = batch["frames"].shape[1], smoke.decomp.noc
  assert sorted(out["z"]) == sorted(["X", "OCs_proj"] + [f"OC{k}" for k in range(1, c + 1)])
  assert all(v.shape == (2, f, smoke.model.z_dim) for v in out["z"].values())
  assert sorted(out["s"]) == sorted(["X", "OCs_proj"] + [f"OC{k}" for k in range(1, smoke.decomp.noc_seq + 1)])
  assert all(v.shape == (2, smoke.model.s_dim) for v in out["s"].values())
  z_only = config_utils.build_config(SMOKE, [("model.branches", "z"), ("model.project_ocs", "False")])
  zb = {k: v for k, v in batch.items() if not k.startswith("seq")}
  p_z = jax.eval_shape(lambda r: model.init_variables(z_only, r, zb)[0], jax.random.key(0))   # shapes only
  assert list(p_z) == ["z_branch"]
  assert sorted(jax.eval_shape(lambda p: model.encode(z_only, p, {}, zb), p_z)) == ["z"]


def test_strided_conv_is_a_valid_conv1d():
  x = jax.random.normal(jax.random.key(1), (3, 400, 2))
  conv = model.StridedConv1d(5, 10, 5)
  v = conv.init(jax.random.key(2), x)
  want = jax.lax.conv_general_dilated(x, v["params"]["kernel"], (5,), "VALID",
                                      dimension_numbers=("NWC", "WIO", "NWC")) + v["params"]["bias"]
  np.testing.assert_allclose(conv.apply(v, x), want, rtol=1e-5, atol=1e-5)
  assert model.conv_out_length(400, (10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)) == 1


@pytest.mark.parametrize("norm,independent", [("layer", True), ("batch_compat", False)])
def test_a_frame_latent_depends_on_its_batch_only_with_batch_statistics(smoke, norm, independent):
  config = config_utils.build_config(SMOKE, [("model.norm", norm)])
  batch = decvae_synthetic.synthetic_batch(config, 2)
  batch["component_mask"][:] = 1.0     # a missing component takes the batch mean (fill_missing) in both norms
  batch["frame_valid"][:] = 1.0
  params, _ = _init(config, batch)
  enc = _encoder(config)
  other = {k: v.copy() for k, v in batch.items()}
  other["frames"][1] = 3.0 * other["frames"][1] + 1.0       # change the other utterance only
  a, b = enc(params, batch)["z"]["OC1"][0], enc(params, other)["z"]["OC1"][0]
  assert np.allclose(a, b, atol=1e-5) == independent


def test_missing_components_take_the_batch_mean_without_gradient():
  h = jnp.arange(24.0).reshape(2, 3, 2, 2)
  present = jnp.ones((2, 3, 2)).at[0, 0, 1].set(0.0)
  out = model.fill_missing(h, present)
  np.testing.assert_allclose(out[0, 0, 1], (h[:, :, 1].sum((0, 1)) - h[0, 0, 1]) / 5)
  g = jax.grad(lambda x: model.fill_missing(x, present).sum())(h)
  assert g[0, 0, 1].sum() == 0.0 and g[1, 1, 1].sum() == 2.0   # the mean's gradient is stopped


def test_paper_z_stack_has_the_original_size():
  config = config_utils.build_config("configs/decvae_simvowels.py", [])
  spec = family.input_spec(config)
  assert spec["frames"].shape[1:] == (199, 4, 400)
  params = jax.eval_shape(lambda r: model.init_variables(config, r, spec)[0], jax.random.key(0))
  n = model.count_params(params["z_branch"]["encoder"])
  assert 4.1e6 < n < 4.4e6          # spec §1.3: ~4.2 M parameters in the 7 x 512 conv stack


def test_config_rules_and_choices():
  assert config_validation.DECVAE_CHOICES["model.norm"] == model.NORMS
  assert config_validation.DECVAE_CHOICES["model.branches"] == model.BRANCHES
  assert config_validation.DECVAE_CHOICES["model.js_variant"] == loss.JS_VARIANTS
  assert config_validation.DECVAE_CHOICES["optim.schedule"] == family.SCHEDULES
  for overrides, field in [([("model.max_frames", "25")], "model.max_frames"),
                           ([("model.kernels", "(10, 3, 3, 3, 3, 2, 3)")], "model.kernels"),
                           ([("model.attention_heads_s", "3")], "model.attention_heads_s"),
                           ([("model.js_variant", "median")], "model.js_variant"),
                           ([("optim.s.schedule", "cosine")], "optim.s.schedule")]:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
      config_utils.build_config(SMOKE, overrides)
  for preset in ("decvae_timit.py", "decvae_voc_als.py", "decvae_iemocap.py", "decvae_simvowels.py:demo"):
    config_utils.build_config(f"configs/{preset}", [("data.dir", "/nowhere")])
