"""The DecVAE objective (spec §2): JS decomposition loss + beta-KL per subspace, per branch, summed.

Per branch, on the projected features h [B, F, C+1, P] (the S branch has one "frame" per utterance):
  P_k,t = softmax(h_k,t) over features; for each utterance u, up to N = max_frames frames S_u are sampled among
  the usable ones (a fixed-shape [B, F] mask from jax.random scores + top_k: no boolean indexing, no shapes that
  depend on data, so no recompiles); D_u(a, b) = clamp(sum_{t in S_u} JS(P_a,t || P_b,t), 0, 1) ('sum_clamp', the
  original) or the mean over S_u ('mean': no saturation once the sum passes 1). JS is the original's formula:
  1/2 [sum (p+eps)(log(p+eps) - log m) + sum (q+eps)(log(q+eps) - log m)], m = (p+q)/2, eps = 1e-8.
  BCE towards 0 for (X, OC_k) pairs and towards 1 for (OC_k, OC_l) pairs, logs clamped at -100 as torch's
  BCELoss, summed over utterances and divided by the number of utterances with a sampled frame;
  L_dec = w_neg CE_neg + w_pos1 CE_pos1 + w_pos2 CE_pos2 + w_pos3plus sum_{k>=3} CE_posk.
  L_prior = gamma beta (sum_k KL_OCk [+ KL_proj] [+ KL_X]) / (number of terms), KL summed over the sampled
  frames and latent dims. The X head's KL is off in the original (config.model.train_x_head, default False).
Missing components (zero-filled slots, component_mask 0) are left out of every pair and KL they belong to
(config.model.mask_missing_components; the original compares the zero-filled slot like any other).
The original multiplies every gradient by 1/W, W = branches * (N_neg w_neg + N_pos w_pos) with N_pos =
sum_u |S_u| C and N_neg = sum_u |S_u| C(C-1)/2 (config.model.grad_scale_1_over_w); it matters through Adam's eps
and the clipping only. Here the differentiated loss is L / W and the logged loss is L.
"""
from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from decompjax import steps
from decompjax.families.decvae import model as model_lib

JS_VARIANTS = ("sum_clamp", "mean")
EPS = 1e-8          # added to the targets of the original's KLDivLoss
LOG_FLOOR = -100.0  # torch BCELoss clamps its logs here


def pairs(noc: int) -> tuple[np.ndarray, np.ndarray, int]:
  """(first level, second level) of every pair: the C positive pairs (0, k) first, then the negative (k, l),
  k < l, in the original's order; and the number of positives."""
  pos = [(0, k) for k in range(1, noc + 1)]
  neg = list(itertools.combinations(range(1, noc + 1), 2))
  a, b = zip(*(pos + neg))
  return np.asarray(a), np.asarray(b), len(pos)


def select_frames(rng: jax.Array, eligible: jax.Array, n: int) -> jax.Array:
  """[B, F] 0/1 mask of up to n eligible frames per row, uniformly at random (all eligible ones if n >= F)."""
  if n >= eligible.shape[-1]:
    return eligible
  scores = jnp.where(eligible > 0, jax.random.uniform(rng, eligible.shape), -1.0)
  _, idx = jax.lax.top_k(scores, n)
  chosen = jnp.sum(jax.nn.one_hot(idx, eligible.shape[-1], dtype=eligible.dtype), axis=-2)
  return chosen * eligible


def js_divergence(p: jax.Array, q: jax.Array, eps: float = EPS) -> jax.Array:
  """The original's per-frame JS of two distributions over the last axis -> [...]."""
  log_m = jnp.log(0.5 * (p + q))
  kl_p = jnp.sum((p + eps) * (jnp.log(p + eps) - log_m), axis=-1)
  kl_q = jnp.sum((q + eps) * (jnp.log(q + eps) - log_m), axis=-1)
  return 0.5 * (kl_p + kl_q)


def clamped_log(x: jax.Array) -> jax.Array:
  """max(log x, -100) with a finite gradient at x = 0 (torch BCELoss)."""
  return jnp.where(x > 0, jnp.maximum(jnp.log(jnp.where(x > 0, x, 1.0)), LOG_FLOOR), LOG_FLOOR)


def kl_rows(mu: jax.Array, logvar: jax.Array) -> jax.Array:
  """KL(N(mu, e^logvar) || N(0, I)) summed over the last axis."""
  return -0.5 * jnp.sum(1.0 + logvar - jnp.square(mu) - jnp.exp(logvar), axis=-1)


def level_weights(sel: jax.Array, component_mask: jax.Array, mask_missing: bool) -> jax.Array:
  """[B, F, C+1]: which (frame, level) enters the loss: sampled frames, and (mask_missing) present components."""
  comp = component_mask if mask_missing else jnp.ones_like(component_mask)
  return sel[..., None] * jnp.concatenate([jnp.ones_like(comp[..., :1]), comp], axis=-1)


def decomposition_loss(h: jax.Array, w: jax.Array, weights, variant: str) -> tuple[jax.Array, dict]:
  """h [B, F, C+1, P] features, w [B, F, C+1] level weights (level_weights) -> (L_dec, logged terms)."""
  if variant not in JS_VARIANTS:
    raise ValueError(f"js_variant={variant!r} is not one of {JS_VARIANTS}")
  noc = h.shape[-2] - 1
  a, b, n_pos = pairs(noc)
  prob = jax.nn.softmax(h, axis=-1)
  js = js_divergence(prob[..., a, :], prob[..., b, :])              # [B, F, pairs]
  pw = w[..., a] * w[..., b]                                         # [B, F, pairs]
  total, count = jnp.sum(pw * js, axis=1), jnp.sum(pw, axis=1)       # [B, pairs]
  div = total if variant == "sum_clamp" else total / jnp.maximum(count, 1.0)
  div = jnp.clip(div, 0.0, 1.0)
  valid = (count > 0).astype(h.dtype)
  n_utt = jnp.maximum(jnp.sum(jnp.max(w[..., 0], axis=1) > 0), 1)    # utterances with a sampled frame
  ce_pos = -jnp.sum(valid[:, :n_pos] * clamped_log(1.0 - div[:, :n_pos]), axis=0) / n_utt   # [C]
  ce_neg = -jnp.sum(valid[:, n_pos:] * clamped_log(div[:, n_pos:])) / n_utt
  pos_w = np.asarray([weights.w_pos1, weights.w_pos2] + [weights.w_pos3plus] * max(noc - 2, 0))[:noc]
  loss = weights.w_neg * ce_neg + jnp.sum(pos_w * ce_pos)

  def mean_div(d, v):
    return jnp.sum(d * v) / jnp.maximum(jnp.sum(v), 1.0)
  terms = {"div_pos": mean_div(div[:, :n_pos], valid[:, :n_pos]), "ce_neg": ce_neg,
           "div_neg": mean_div(div[:, n_pos:], valid[:, n_pos:]) if noc > 1 else jnp.zeros(()),
           **{f"ce_pos{k + 1}": ce_pos[k] for k in range(noc)}}
  return loss, terms


def prior_loss(out: dict, w: jax.Array, sel: jax.Array, train_x_head: bool) -> jax.Array:
  """(KL_OCk over w's levels 1.. [+ KL_proj over sel] [+ KL_X]) / the number of terms."""
  kl = kl_rows(out["mu"], out["logvar"])                             # [B, F, C+1]
  total = jnp.sum(w[..., 1:] * kl[..., 1:])
  terms = kl.shape[-1] - 1
  if "proj_mu" in out:
    total += jnp.sum(sel * kl_rows(out["proj_mu"], out["proj_logvar"]))
    terms += 1
  if train_x_head:
    total += jnp.sum(w[..., 0] * kl[..., 0])
    terms += 1
  return total / terms


def branch_loss(m, out: dict, sel: jax.Array, component_mask: jax.Array, beta: float, gamma: float, branch: str):
  """-> (L_dec + L_prior, logged terms prefixed with the branch)."""
  w = level_weights(sel, component_mask, bool(m.mask_missing_components))
  dec, terms = decomposition_loss(out["h"], w, m.weights, m.js_variant)
  prior = gamma * beta * prior_loss(out, w, sel, bool(m.train_x_head))
  terms = {"dec": dec, "prior": prior, **terms}
  return dec + prior, {f"{branch}/{k}": v for k, v in terms.items()}


def frame_selection(config, batch, rng, train: bool) -> jax.Array:
  """Sampled frames [B, F]: up to model.max_frames usable frames per utterance while training, all of them
  otherwise (the original's N = "all" at evaluation)."""
  eligible = batch["frame_valid"].astype(jnp.float32)
  return select_frames(rng, eligible, int(config.model.max_frames)) if train else eligible


def gradient_scale(config, sel_z: jax.Array | None, batch_size: int) -> jax.Array:
  """W of the original's 1/W gradient scaling (counts of the Z branch; the S branch's when it is alone)."""
  m, noc = config.model, int(config.decomp.noc)
  if sel_z is not None:
    frames = jnp.sum(sel_z)
  else:
    frames, noc = jnp.asarray(float(batch_size)), int(config.decomp.noc_seq)
  n_pos, n_neg = frames * noc, frames * noc * (noc - 1) / 2
  factor = 2.0 if m.branches == "dual" else 1.0
  return factor * jnp.maximum(n_neg * m.weights.w_neg + n_pos * m.weights.w_pos, 1e-12)


def total_loss(config, out: dict, batch, rng, train: bool) -> tuple[jax.Array, jax.Array, dict]:
  """-> (differentiated loss, logged loss, terms)."""
  m = config.model
  loss = jnp.zeros((), jnp.float32)
  terms = {}
  sel = None
  if "z" in out:
    sel = frame_selection(config, batch, rng, train)
    lz, tz = branch_loss(m, out["z"], sel, batch["component_mask"], m.beta_z, m.gamma_z, "z")
    loss, terms = loss + lz, {**terms, **tz, "z/frames": jnp.sum(sel)}
  if "s" in out:
    one = jnp.ones(out["s"]["h"].shape[:1] + (1,), jnp.float32)
    s_out = {k: v[:, None] for k, v in out["s"].items()}             # one "frame" per utterance
    ls, ts = branch_loss(m, s_out, one, batch["seq_component_mask"][:, None], m.beta_s, m.gamma_s, "s")
    loss, terms = loss + ls, {**terms, **ts}
  diff = loss
  if m.grad_scale_1_over_w:
    scale = gradient_scale(config, sel, out[next(iter(out))]["h"].shape[0])
    diff = loss / jax.lax.stop_gradient(scale)
  return diff, loss, terms


def make_loss_fn(config, train: bool = True):
  """loss_fn(params, model_state, batch, rng) -> (differentiated loss, LossOut) for steps.gradient_step; the
  logged loss (unscaled) is terms['total']."""
  net = model_lib.make_model(config)

  def loss_fn(params, model_state, batch, rng):
    out = net.apply({"params": params}, batch)
    diff, loss, terms = total_loss(config, out, batch, rng, train)
    return diff, steps.LossOut(terms={"total": loss, **terms}, model_state=None)

  return loss_fn


def make_eval_step(config):
  """eval_step(state, batch, rng) -> the loss and its terms on every usable frame (no update)."""
  return steps.loss_eval_step(make_loss_fn(config, train=False), loss_key="total")
