"""Encoder/decoder shapes and sizes against the original's table (spec §1.2), EMA state in the train step."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import vqvae_ucr
from decompjax.families.vqvae import data as vq_data
from decompjax.families.vqvae import family as vq_family
from decompjax.families.vqvae import model as vq_model
from decompjax.families.vqvae.model import VQVAE, downsample_rate


@pytest.mark.parametrize("length,latent", [(24, (5, 6)), (96, (5, 12)), (140, (5, 8)), (150, (5, 9)),
                                           (251, (5, 7)), (1024, (5, 8))])
def test_latent_grid_matches_original(length, latent):
  model = VQVAE(length=length)
  x = jnp.zeros((2, length, 1))
  out = jax.eval_shape(lambda: model.init_with_output({"params": jax.random.key(0)}, x, train=False)[0])
  assert out["z"].shape == (2, *latent, 64)
  assert out["u_hat"].shape == out["u"].shape == (2, 5, 1 + length // 2, 2)
  assert out["x_hat"].shape == (2, length, 1)


def test_parameter_counts_and_rate():
  assert downsample_rate(140, 8, 8) == 9 and downsample_rate(5, 8, 8) == 1
  v = jax.eval_shape(lambda: VQVAE(length=140).init({"params": jax.random.key(0)}, jnp.zeros((2, 140, 1)),
                                                    train=False))
  count = lambda t: sum(int(np.prod(a.shape)) for a in jax.tree.leaves(t))
  n_enc = count(v["params"]["encoder"])
  assert 255_000 < n_enc < 275_000  # original: 266k
  assert set(v) == {"params", "batch_stats", "vq"} and v["vq"]["vq"]["embed"].shape == (32, 64)


def test_train_step_updates_codebook_and_eval_step_does_not(ucr_dir):
  c = vqvae_ucr.get_config("smoke")
  c.data.ucr_dir, c.data.name = str(ucr_dir), "ItalyPowerDemand"
  d = vq_data.load_data(c)
  batch = {"x": d.train_x[:16], "label": d.train_y[:16]}
  state = vq_family.VQVAE.init_state(c, jax.random.key(0), batch)
  step = jax.jit(vq_family.VQVAE.make_train_step(c))
  new, metrics = step(state, batch, jax.random.key(1))
  assert set(metrics) >= {"loss", "recon_time", "recon_stft", "commit", "perplexity"}
  assert np.isfinite(float(metrics["loss"])) and int(new.step) == 1
  assert not np.allclose(new.model_state["vq"]["vq"]["embed"], state.model_state["vq"]["vq"]["embed"])
  eval_metrics = jax.jit(vq_family.VQVAE.make_eval_step(c))(new, batch, jax.random.key(2))
  assert np.isfinite(float(eval_metrics["loss"]))
  # eval outputs are a pure function of the state: applying them twice gives the same result.
  a = vq_model.eval_apply(c, new, jnp.asarray(batch["x"]))["x_hat"]
  b = vq_model.eval_apply(c, new, jnp.asarray(batch["x"]))["x_hat"]
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_upconv_equals_conv_transpose_and_doubles_width():
  import flax.linen as nn
  from decompjax.families.vqvae.model import UpConv
  x = jax.random.normal(jax.random.key(0), (2, 5, 7, 3))
  up = UpConv(4)
  v = up.init(jax.random.key(1), x)
  v = jax.tree.map(lambda a: a + 0.1, v)  # non-zero bias too
  ref = nn.ConvTranspose(4, (3, 4), strides=(1, 2), padding=((1, 1), (2, 2)))
  y, y_ref = up.apply(v, x), ref.apply(v, x)
  assert y.shape == (2, 5, 14, 4)
  np.testing.assert_allclose(np.asarray(y), np.asarray(y_ref), atol=1e-5)
