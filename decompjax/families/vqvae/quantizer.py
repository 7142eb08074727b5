"""EMA vector quantiser (lucidrains vector-quantize-pytorch EuclideanCodebook as used by [BT]/[TV]).

The codebook is not a parameter: it lives in the Flax collection 'vq' (TrainState.model_state['vq']) and
changes only through the exponential moving average of assigned tokens, and only when called with
train=True (evaluation never touches it; the original updated it on test data during probes).
Under jit on a ('data',) mesh the counts and sums are over the *global* batch, like the original's
all-reduce in DDP.

Variables ('vq'): embed (K, D), embed_avg (K, D), cluster_size (K,), initted (bool; False until the
k-means init ran when kmeans_init=True).
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def sq_distances(flat: jnp.ndarray, embed: jnp.ndarray) -> jnp.ndarray:
  """(N, D), (K, D) -> (N, K) squared Euclidean distances."""
  return (jnp.sum(flat**2, -1, keepdims=True) - 2 * flat @ embed.T + jnp.sum(embed**2, -1)[None])


def sample_vectors(key, flat: jnp.ndarray, num: int) -> jnp.ndarray:
  """lucidrains sample_vectors: without replacement when enough tokens, else with replacement."""
  n = flat.shape[0]
  idx = (jax.random.permutation(key, n)[:num] if n >= num else jax.random.randint(key, (num,), 0, n))
  return flat[idx]


def kmeans(key, flat: jnp.ndarray, num_clusters: int, iters: int) -> tuple[jnp.ndarray, jnp.ndarray]:
  """lucidrains kmeans: random data init, `iters` Lloyd steps, empty clusters keep their mean."""
  means = sample_vectors(key, flat, num_clusters)

  def body(_, carry):
    means, _ = carry
    onehot = jax.nn.one_hot(jnp.argmin(sq_distances(flat, means), -1), num_clusters, dtype=flat.dtype)
    bins = onehot.sum(0)
    new = (onehot.T @ flat) / jnp.maximum(bins, 1.)[:, None]
    return jnp.where((bins == 0)[:, None], means, new), bins

  means, bins = jax.lax.fori_loop(0, iters, body, (means, jnp.zeros((num_clusters,), flat.dtype)))
  return means, bins


def laplace_smoothing(x: jnp.ndarray, n: int, eps: float) -> jnp.ndarray:
  return (x + eps) / (x.sum() + n * eps)


class VectorQuantizer(nn.Module):
  """z (..., D) -> (z_q with straight-through gradient, q = codebook vectors (no gradient), indices).

  The assignment uses the codebook *before* this step's EMA update (as the original). kmeans_init runs
  once, on the first training batch. Dead-code revival (threshold > 0) replaces codes whose EMA
  cluster size fell below the threshold by random tokens of the batch and resets their EMA statistics
  (later lucidrains versions; the original copied only `embed`, which the next EMA step overwrote).
  """
  codebook_size: int = 32
  dim: int = 64
  decay: float = 0.8
  eps: float = 1e-5
  kmeans_init: bool = False
  kmeans_iters: int = 10
  dead_code_threshold: float = 0.0

  @nn.compact
  def __call__(self, z: jnp.ndarray, train: bool):
    k, d = self.codebook_size, self.dim
    rand_init = lambda: jax.random.normal(self.make_rng("params"), (k, d), jnp.float32)
    embed = self.variable("vq", "embed", rand_init)
    embed_avg = self.variable("vq", "embed_avg", lambda: jnp.array(embed.value, copy=True))  # own buffer (donation)
    cluster_size = self.variable("vq", "cluster_size", lambda: jnp.zeros((k,), jnp.float32))
    initted = self.variable("vq", "initted", lambda: jnp.asarray(not self.kmeans_init))

    flat = jax.lax.stop_gradient(z.reshape(-1, d).astype(jnp.float32))
    update = train and not self.is_initializing()
    codebook = embed.value
    if update and self.kmeans_init:
      means, bins = kmeans(self.make_rng("vq"), flat, k, self.kmeans_iters)
      done = initted.value
      codebook = jnp.where(done, codebook, means)
      # embed_avg holds sums (means * counts), as later lucidrains versions; copying the means (the
      # version [BT] vendored) would shrink the codes toward 0 on the first EMA step.
      embed_avg.value = jnp.where(done, embed_avg.value, means * bins[:, None])
      cluster_size.value = jnp.where(done, cluster_size.value, bins)
      initted.value = jnp.ones_like(done)

    idx = jnp.argmin(sq_distances(flat, codebook), -1)
    q = codebook[idx].reshape(z.shape)

    if update:
      onehot = jax.nn.one_hot(idx, k, dtype=jnp.float32)
      cs = self.decay * cluster_size.value + (1 - self.decay) * onehot.sum(0)
      ea = self.decay * embed_avg.value + (1 - self.decay) * (onehot.T @ flat)
      new_embed = ea / (laplace_smoothing(cs, k, self.eps) * cs.sum())[:, None]
      if self.dead_code_threshold > 0:
        dead = cs < self.dead_code_threshold
        fresh = sample_vectors(self.make_rng("vq"), flat, k)
        new_embed = jnp.where(dead[:, None], fresh, new_embed)
        ea = jnp.where(dead[:, None], fresh * self.dead_code_threshold, ea)
        cs = jnp.where(dead, self.dead_code_threshold, cs)
      cluster_size.value, embed_avg.value, embed.value = cs, ea, new_embed

    z_q = z + jax.lax.stop_gradient(q - z)  # straight-through estimator
    return z_q, jax.lax.stop_gradient(q), idx.reshape(z.shape[:-1])


def commitment(z: jnp.ndarray, q: jnp.ndarray) -> jnp.ndarray:
  """mse(sg(q), z): gradients only to the encoder (q is already stop-gradient)."""
  return jnp.mean((q - z) ** 2)


def code_usage(idx: jnp.ndarray, k: int) -> tuple[jnp.ndarray, jnp.ndarray]:
  """(perplexity, entropy in nats) of the mean one-hot code usage over all tokens in `idx`."""
  p = jnp.mean(jax.nn.one_hot(idx.reshape(-1), k), 0)
  ent = -jnp.sum(p * jnp.log(p + 1e-10))
  return jnp.exp(ent), ent
