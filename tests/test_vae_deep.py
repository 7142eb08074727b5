"""VAEDeep matches the SynTone original's architecture; beta-VAE loss reductions."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from decompjax.families.syntone_vae.loss import beta_vae_loss
from decompjax.families.syntone_vae.model import VAEDeep
from decompjax.losses.vae import gaussian_kl
from decompjax.models.layers import max_pool_2x2


def test_parameter_count_matches_original():
  model = VAEDeep(latent_dim=8, input_shape=(128, 32, 1))
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 128, 32, 1)), jax.random.key(1)))
  assert sum(x.size for x in jax.tree.leaves(shapes)) == 1_117_521


def test_shapes_and_output_range():
  model = VAEDeep(latent_dim=4, input_shape=(32, 16, 1))
  x = jax.random.uniform(jax.random.key(0), (3, 32, 16, 1))
  params = model.init(jax.random.key(1), x, jax.random.key(2))
  x_hat, mu, logvar, z = model.apply(params, x, jax.random.key(3))
  assert x_hat.shape == x.shape and mu.shape == logvar.shape == z.shape == (3, 4)
  assert float(x_hat.min()) >= 0.0 and float(x_hat.max()) <= 1.0


def test_bad_input_shape():
  model = VAEDeep(latent_dim=4, input_shape=(30, 16, 1))
  with pytest.raises(ValueError, match="divisible by 8"):
    model.init(jax.random.key(0), jnp.zeros((1, 30, 16, 1)), jax.random.key(1))


def test_max_pool_equals_flax_max_pool_values_and_gradient():
  import flax.linen as nn
  x = jax.random.normal(jax.random.key(0), (2, 8, 6, 3))
  ref = lambda x: nn.max_pool(x, (2, 2), strides=(2, 2))
  np.testing.assert_array_equal(max_pool_2x2(x), ref(x))
  w = jax.random.normal(jax.random.key(1), (2, 4, 3, 3))
  np.testing.assert_array_equal(jax.grad(lambda x: jnp.sum(w * max_pool_2x2(x)))(x),
                                jax.grad(lambda x: jnp.sum(w * ref(x)))(x))


def test_max_pool_gradient_goes_to_first_tied_maximum_like_torch():
  # One window with all four equal, one with a tie on its second row only.
  x = jnp.array([[1., 1., 0., 5.], [1., 1., 5., 5.]]).reshape(1, 2, 4, 1)
  g = jax.grad(lambda x: jnp.sum(max_pool_2x2(x) * jnp.array([2., 3.]).reshape(1, 1, 2, 1)))(x)
  np.testing.assert_array_equal(g.reshape(2, 4), [[2., 0., 0., 3.], [0., 0., 0., 0.]])


@pytest.mark.parametrize("cin", [1, 3, 16])  # im2col path (<= 4 channels) and XLA convolution path
def test_conv3x3_equals_flax_conv(cin):
  import flax.linen as nn
  from decompjax.models.layers import Conv3x3
  x = jax.random.normal(jax.random.key(0), (2, 6, 5, cin))
  ref = nn.Conv(7, (3, 3), padding=1)
  params = ref.init(jax.random.key(1), x)
  params["params"]["bias"] = jax.random.normal(jax.random.key(2), (7,))
  ours = Conv3x3(7)
  assert jax.tree.map(jnp.shape, ours.init(jax.random.key(1), x)) == jax.tree.map(jnp.shape, params)
  np.testing.assert_allclose(ours.apply(params, x), ref.apply(params, x), rtol=1e-5, atol=1e-5)
  g_ref = jax.grad(lambda p, x: jnp.sum(jnp.sin(ref.apply(p, x))), argnums=(0, 1))(params, x)
  g_our = jax.grad(lambda p, x: jnp.sum(jnp.sin(ours.apply(p, x))), argnums=(0, 1))(params, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), g_ref, g_our)


def test_vaedeep_parameter_names_are_flax_defaults():
  model = VAEDeep(latent_dim=8, input_shape=(32, 16, 1))
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 32, 16, 1)), jax.random.key(1)))
  assert sorted(shapes["params"]["encoder"]) == ["Conv_0", "Conv_1", "Conv_2", "Dense_0", "Dense_1", "logvar", "mu"]


def test_kl_zero_at_prior_and_positive_elsewhere():
  assert float(jnp.abs(gaussian_kl(jnp.zeros((2, 3)), jnp.zeros((2, 3)))).max()) == 0.0
  assert float(gaussian_kl(jnp.ones((1, 3)), jnp.zeros((1, 3)))[0]) == pytest.approx(1.5)


def test_reductions_differ_as_documented():
  rng = np.random.default_rng(0)
  x, x_hat = rng.uniform(size=(4, 5, 2)), rng.uniform(size=(4, 5, 2))
  mu, lv = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
  rec = ((x_hat - x) ** 2).reshape(4, -1).sum(1)
  kl = -0.5 * (1 + lv - mu**2 - np.exp(lv)).sum(1)
  per, _ = beta_vae_loss(x_hat, x, mu, lv, beta=4.0, reduction="per_sample")
  orig, _ = beta_vae_loss(x_hat, x, mu, lv, beta=4.0, reduction="syntone")
  assert float(per) == pytest.approx(np.mean(rec + 4 * kl), rel=1e-5)
  assert float(orig) == pytest.approx(rec.sum() + 4 * kl.mean(), rel=1e-5)
  with pytest.raises(ValueError, match="reduction"):
    beta_vae_loss(x_hat, x, mu, lv, beta=1.0, reduction="mean")


def test_subpixel_conv_transpose_equals_flax_conv_transpose():
  import flax.linen as nn
  from decompjax.models.layers import ConvTranspose3x3s2
  x = jax.random.normal(jax.random.key(0), (2, 5, 3, 4))
  ref = nn.ConvTranspose(6, (3, 3), strides=(2, 2), padding=((1, 2), (1, 2)))
  params = ref.init(jax.random.key(1), x)
  params["params"]["bias"] = jax.random.normal(jax.random.key(2), (6,))
  ours = ConvTranspose3x3s2(6)
  assert jax.tree.map(jnp.shape, ours.init(jax.random.key(1), x)) == jax.tree.map(jnp.shape, params)
  np.testing.assert_allclose(ours.apply(params, x), ref.apply(params, x), rtol=1e-5, atol=1e-5)
  g_ref = jax.grad(lambda p: jnp.sum(jnp.sin(ref.apply(p, x))))(params)
  g_our = jax.grad(lambda p: jnp.sum(jnp.sin(ours.apply(p, x))))(params)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), g_ref, g_our)
