"""The DecVAE loss: the JS decomposition loss against a direct numpy transcription of the original's formula
(models/dec_vae.py compute_decomposition_loss + the weighted sum in forward), frame sampling, masks, KL, the 1/W
gradient scaling and the 'mean' variant."""
import itertools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from decompjax import config_utils
from decompjax.families.decvae import loss

WEIGHTS = ml_collections.ConfigDict(dict(w_pos=0.3, w_pos1=0.25, w_pos2=0.35, w_pos3plus=0.2, w_neg=0.15))


def dec_loss(variant="sum_clamp"):
  """The decomposition loss jitted (op-by-op dispatch is slow on the 8 fake devices)."""
  return jax.jit(lambda h, w: loss.decomposition_loss(h, w, WEIGHTS, variant))


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _kl_div_sum(inp, target):
  """torch nn.KLDivLoss(reduction='sum', log_target=False)(inp, target) = sum target * (log target - inp)."""
  return np.sum(target * (np.log(target) - inp))


def _bce_sum(x, y):
  """torch nn.BCELoss(reduction='sum') with its logs clamped at -100."""
  with np.errstate(divide="ignore"):
    return np.sum(-(y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log(1 - x), -100)))


def original_decomposition_loss(h, frames_per_utt, w):
  """Literal transcription of the original: per utterance, its sampled frames; JS summed over them, clamped;
  BCE per pair summed over utterances / number of utterances; weighted sum of the CE terms."""
  h = np.asarray(h, np.float64)
  noc = h.shape[2] - 1
  eps = 1e-8
  pos = {k: [] for k in range(1, noc + 1)}
  neg = {pair: [] for pair in itertools.combinations(range(1, noc + 1), 2)}
  for u, idx in enumerate(frames_per_utt):
    p = _softmax(h[u, idx, 0])
    comps = [_softmax(h[u, idx, k]) for k in range(1, noc + 1)]
    for l, q in enumerate(comps):
      m = np.log(0.5 * (p + q))
      pos[l + 1].append(np.clip(0.5 * (_kl_div_sum(m, p + eps) + _kl_div_sum(m, q + eps)), 0, 1))
      for k in range(l + 1, noc):
        r = comps[k]
        m = np.log(0.5 * (r + q))
        neg[(l + 1, k + 1)].append(np.clip(0.5 * (_kl_div_sum(m, q + eps) + _kl_div_sum(m, r + eps)), 0, 1))
  n = len(frames_per_utt)
  ce_neg = sum(_bce_sum(np.array(v), np.ones(len(v))) / n for v in neg.values())
  ce_pos = {k: _bce_sum(np.array(v), np.zeros(len(v))) / n for k, v in pos.items()}
  total = w.w_neg * ce_neg + w.w_pos1 * ce_pos[1] + w.w_pos2 * ce_pos[2] + \
      w.w_pos3plus * sum(v for k, v in ce_pos.items() if k > 2)
  return total, ce_pos, ce_neg


@pytest.mark.parametrize("scale", [0.3, 3.0])   # 3.0: many sums exceed 1 and saturate the clamp
def test_js_loss_matches_the_original_formula(scale):
  rng = np.random.default_rng(0)
  b, f, noc, p = 3, 7, 4, 12
  h = (scale * rng.standard_normal((b, f, noc + 1, p))).astype(np.float32)
  sel = (rng.random((b, f)) > 0.4).astype(np.float32)
  sel[:, 0] = 1.0
  w = loss.level_weights(jnp.asarray(sel), jnp.ones((b, f, noc)), mask_missing=True)
  got, terms = dec_loss()(jnp.asarray(h), w)
  want, ce_pos, ce_neg = original_decomposition_loss(h, [np.flatnonzero(s) for s in sel], WEIGHTS)
  np.testing.assert_allclose(float(got), want, rtol=2e-5)
  np.testing.assert_allclose(float(terms["ce_neg"]), ce_neg, rtol=2e-5)
  for k in range(1, noc + 1):
    np.testing.assert_allclose(float(terms[f"ce_pos{k}"]), ce_pos[k], rtol=2e-5, atol=1e-7)


def test_frame_sampling_is_fixed_shape_random_and_eligible_only():
  eligible = jnp.asarray(np.random.default_rng(1).random((16, 30)) > 0.3, jnp.float32)
  sel = loss.select_frames(jax.random.key(0), eligible, 8)
  assert sel.shape == eligible.shape
  np.testing.assert_array_equal(np.asarray(sel).sum(1), np.minimum(np.asarray(eligible).sum(1), 8))
  assert np.all(np.asarray(sel) <= np.asarray(eligible))
  np.testing.assert_array_equal(sel, loss.select_frames(jax.random.key(0), eligible, 8))   # same key, same frames
  assert not np.array_equal(sel, loss.select_frames(jax.random.key(1), eligible, 8))
  np.testing.assert_array_equal(loss.select_frames(jax.random.key(0), eligible, 30), eligible)
  jaxpr = str(jax.make_jaxpr(lambda r, e: loss.select_frames(r, e, 8))(jax.random.key(0), eligible))
  assert "top_k" in jaxpr   # no data-dependent shapes: top_k on scores, not boolean indexing


def test_missing_components_leave_the_loss_and_kl():
  rng = np.random.default_rng(2)
  b, f, noc, p, d = 2, 5, 3, 8, 4
  h = rng.standard_normal((b, f, noc + 1, p)).astype(np.float32)
  comp = np.ones((b, f, noc), np.float32)
  comp[0, :, 2] = 0.0                                 # OC3 missing in utterance 0
  sel = jnp.ones((b, f))
  w = loss.level_weights(sel, jnp.asarray(comp), mask_missing=True)
  f_loss = dec_loss()
  base, _ = f_loss(jnp.asarray(h), w)
  h2 = h.copy()
  h2[0, :, 3] = 50 * rng.standard_normal((f, p))      # whatever the missing slot's features are
  moved, _ = f_loss(jnp.asarray(h2), w)
  np.testing.assert_allclose(float(moved), float(base), rtol=1e-6)
  w_orig = loss.level_weights(sel, jnp.asarray(comp), mask_missing=False)   # the original compares them
  a, _ = f_loss(jnp.asarray(h), w_orig)
  c, _ = f_loss(jnp.asarray(h2), w_orig)
  assert float(a) != pytest.approx(float(c))
  mu, lv = rng.standard_normal((2, b, f, noc + 1, d)).astype(np.float32)
  out = {"mu": jnp.asarray(mu), "logvar": jnp.asarray(lv)}
  kl = -0.5 * (1 + lv - mu ** 2 - np.exp(lv)).sum(-1)          # [b, f, noc+1]
  want = (kl[..., 1:] * comp).sum() / noc
  np.testing.assert_allclose(float(loss.prior_loss(out, w, sel, train_x_head=False)), want, rtol=1e-5)
  want_x = ((kl[..., 1:] * comp).sum() + kl[..., 0].sum()) / (noc + 1)
  np.testing.assert_allclose(float(loss.prior_loss(out, w, sel, train_x_head=True)), want_x, rtol=1e-5)


def test_clamped_log_is_torch_bce_and_finite_at_zero():
  x = jnp.asarray([0.0, 1e-50, 0.5, 1.0])
  np.testing.assert_allclose(loss.clamped_log(x), [-100.0, -100.0, np.log(0.5), 0.0], rtol=1e-6)
  assert np.all(np.isfinite(jax.grad(lambda v: jnp.sum(loss.clamped_log(v)))(x)))


def test_mean_variant_does_not_saturate():
  rng = np.random.default_rng(3)
  h = jnp.asarray(4.0 * rng.standard_normal((2, 20, 3, 16)), jnp.float32)
  w = loss.level_weights(jnp.ones((2, 20)), jnp.ones((2, 20, 2)), True)
  g_sum = jax.jit(jax.grad(lambda x: loss.decomposition_loss(x, w, WEIGHTS, "sum_clamp")[0]))(h)
  g_mean = jax.jit(jax.grad(lambda x: loss.decomposition_loss(x, w, WEIGHTS, "mean")[0]))(h)
  _, t = dec_loss()(h, w)
  assert float(t["div_pos"]) == 1.0 and float(jnp.abs(g_sum[..., 0, :]).max()) == 0.0   # clamped: no gradient
  _, t = dec_loss("mean")(h, w)
  assert float(t["div_pos"]) < np.log(2) and float(jnp.abs(g_mean).max()) > 0


def test_gradient_scaling_divides_by_w():
  config = config_utils.build_config("configs/decvae_simvowels.py:smoke", [])
  rng = np.random.default_rng(4)
  b, f, c, cs, p = 4, 24, config.decomp.noc, config.decomp.noc_seq, 16
  arr = lambda *shape: jnp.asarray(rng.standard_normal(shape), jnp.float32)
  out = {"z": {"h": arr(b, f, c + 1, p), "mu": arr(b, f, c + 1, 4), "logvar": arr(b, f, c + 1, 4)},
         "s": {"h": arr(b, cs + 1, p), "mu": arr(b, cs + 1, 4), "logvar": arr(b, cs + 1, 4)}}
  batch = {"frame_valid": jnp.asarray(rng.random((b, f)) > 0.2, jnp.float32), "component_mask": jnp.ones((b, f, c)),
           "seq_component_mask": jnp.ones((b, cs))}
  key = jax.random.key(5)

  def grads(flag):
    cfg = config.copy_and_resolve_references()
    cfg.model.grad_scale_1_over_w = flag
    return jax.jit(jax.grad(lambda o: loss.total_loss(cfg, o, batch, key, True)[0]))(out)
  frames = float(loss.frame_selection(config, batch, key, True).sum())
  wt = config.model.weights
  big_w = 2 * (frames * c * (c - 1) / 2 * wt.w_neg + frames * c * wt.w_pos)   # dual: twice the Z counts
  for a, b_ in zip(jax.tree.leaves(grads(True)), jax.tree.leaves(grads(False))):
    np.testing.assert_allclose(a * big_w, b_, rtol=1e-3, atol=1e-4 * float(jnp.abs(b_).max()))
