"""EMA vector quantiser: straight-through gradients, EMA only in train mode, perplexity, init/revival."""
import jax
import jax.numpy as jnp
import numpy as np

from decompjax.evaluation import probes
from decompjax.families.vqvae import quantizer
from decompjax.families.vqvae.quantizer import VectorQuantizer


def _init(vq, z):
  return vq.init({"params": jax.random.key(0)}, z, train=False)


def test_straight_through_gradient_and_nearest_code():
  vq = VectorQuantizer(codebook_size=8, dim=4)
  z = jax.random.normal(jax.random.key(1), (3, 5, 4))
  v = _init(vq, z)
  z_q, q, idx = vq.apply(v, z, train=False)
  embed = v["vq"]["embed"]
  d = ((z[..., None, :] - embed) ** 2).sum(-1)
  np.testing.assert_array_equal(np.asarray(idx), np.asarray(jnp.argmin(d, -1)))
  np.testing.assert_allclose(np.asarray(z_q), np.asarray(embed[idx]), atol=1e-6)
  c = jax.random.normal(jax.random.key(2), z.shape)
  g = jax.grad(lambda z: jnp.sum(vq.apply(v, z, train=False)[0] * c))(z)
  np.testing.assert_allclose(np.asarray(g), np.asarray(c), atol=1e-6)  # identity gradient
  gc = jax.grad(lambda z: quantizer.commitment(z, vq.apply(v, z, train=False)[1]))(z)
  np.testing.assert_allclose(np.asarray(gc), np.asarray(2 * (z - q) / z.size), atol=1e-6)


def test_ema_updates_only_in_train_mode():
  vq = VectorQuantizer(codebook_size=8, dim=4, decay=0.8)
  z = jax.random.normal(jax.random.key(3), (16, 4))
  v = _init(vq, z)
  _, ev = vq.apply(v, z, train=False, mutable=["vq"])
  for k in v["vq"]:
    np.testing.assert_array_equal(np.asarray(ev["vq"][k]), np.asarray(v["vq"][k]))
  (_, _, idx), tv = vq.apply(v, z, train=True, mutable=["vq"], rngs={"vq": jax.random.key(0)})
  counts = np.bincount(np.asarray(idx), minlength=8)
  np.testing.assert_allclose(np.asarray(tv["vq"]["cluster_size"]), 0.2 * counts, atol=1e-6)
  ea = 0.8 * np.asarray(v["vq"]["embed_avg"]) + 0.2 * np.asarray(jax.nn.one_hot(idx, 8).T @ z)
  np.testing.assert_allclose(np.asarray(tv["vq"]["embed_avg"]), ea, atol=1e-5)
  cs = 0.2 * counts
  smooth = (cs + 1e-5) / (cs.sum() + 8e-5) * cs.sum()
  np.testing.assert_allclose(np.asarray(tv["vq"]["embed"]), ea / smooth[:, None], rtol=1e-4, atol=1e-4)


def test_perplexity_and_entropy():
  uniform = np.arange(32).repeat(3)
  perp, ent = quantizer.code_usage(jnp.asarray(uniform), 32)
  assert abs(float(perp) - 32) < 1e-3 and abs(float(ent) - np.log(32)) < 1e-5
  perp1, _ = quantizer.code_usage(jnp.zeros(10, jnp.int32), 32)
  assert abs(float(perp1) - 1) < 1e-4
  u = probes.code_usage(np.array([0, 0, 1, 1]), 8)
  assert u["codes_used"] == 2 and abs(u["perplexity"] - 2) < 1e-9


def test_kmeans_init_and_dead_code_revival():
  z = jnp.concatenate([jnp.full((20, 2), 5.0), jnp.full((20, 2), -5.0)]) + 0.01 * jax.random.normal(
      jax.random.key(4), (40, 2))
  vq = VectorQuantizer(codebook_size=2, dim=2, kmeans_init=True)
  v = _init(vq, z)
  assert not bool(v["vq"]["initted"])
  (_, q, _), tv = vq.apply(v, z, train=True, mutable=["vq"], rngs={"vq": jax.random.key(5)})
  assert bool(tv["vq"]["initted"])
  centres = np.sort(np.asarray(tv["vq"]["embed"])[:, 0])
  np.testing.assert_allclose(centres, [-5, 5], atol=0.1)  # k-means found both clusters
  # Revival: a threshold above every EMA count replaces all codes by batch tokens.
  vq2 = VectorQuantizer(codebook_size=4, dim=2, dead_code_threshold=100.0)
  v2 = _init(vq2, z)
  _, tv2 = vq2.apply(v2, z, train=True, mutable=["vq"], rngs={"vq": jax.random.key(6)})
  emb = np.asarray(tv2["vq"]["embed"])
  assert np.all(np.min(np.abs(emb[:, None, :] - np.asarray(z)[None]).sum(-1), axis=1) < 1e-6)
