"""The DecVAE encoder (spec §1.3-1.4): a Z branch over 25 ms frames and an S branch over whole sequences.

Z: one conv stack (wav2vec2 shape: kernels 10,3,3,3,3,2,2 / strides 5,2,2,2,2,2,2 turn 400 samples into one
vector) shared by every frame and every level (X, OC1..OCC), run as one batched computation over [B, F, C+1];
norm -> Dense(hidden) (the feature projection); `project_z` (Dense-Dense-GELU, no nonlinearity between, shared
by all levels) gives the features h the decomposition loss compares; one mu/logvar head per level; optional
`project_OCs` over the concatenated OC features with its own head ("OCs_proj").
S: a conv stack (LayerNorm) over each whole-sequence level, `project_s`, attention pooling with one learned
query, LayerNorm, one mu/logvar head per level (and the optional OCs projection).

Normalisation (config.model.norm): the original's CustomLayerNorm takes per-channel statistics over every
selected frame of the batch, also at evaluation, so a frame's latent depends on the batch it sits in. Default
'layer' = LayerNorm over channels at each position of each frame (per-frame; evaluation is batch-independent).
'batch_compat' reproduces the batch statistics (per level, over the frames its mask selects). No running
averages are kept in either, so model_state is {}. There is no sampling: DecVAE has no reparameterisation, the
heads' mu and logvar only feed the KL, and the latents are mu.

Precision (decompjax/precision.py): every layer computes in the model's `dtype`, parameters stay float32, the
batch statistics of 'batch_compat' are taken in float32, and everything the model returns (h, mu, logvar) is
float32, so the JS and KL reductions of loss.py run in float32.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from decompjax import precision

NORMS = ("layer", "batch_compat")
BRANCHES = ("dual", "z", "s")
LN_EPS = 1e-5  # layer_norm_eps of the original


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """The architecture fields of config.model (hashable, so a jitted apply can be cached per spec)."""
  noc: int
  noc_seq: int
  conv_dim_z: tuple[int, ...] = (512,) * 7
  conv_dim_s: tuple[int, ...] = (192,) * 7
  kernels: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
  strides: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
  hidden_size: int = 512
  proj_intermediate_dim: int = 512
  proj_dim: int = 192
  z_dim: int = 48
  s_dim: int = 24
  attention_heads_s: int = 6
  project_ocs: bool = True
  branches: str = "dual"
  norm: str = "layer"

  @property
  def has_z(self) -> bool:
    return self.branches in ("dual", "z")

  @property
  def has_s(self) -> bool:
    return self.branches in ("dual", "s")


def model_spec(config) -> ModelSpec:
  m = config.model
  return ModelSpec(noc=int(config.decomp.noc), noc_seq=int(config.decomp.noc_seq),
                   conv_dim_z=tuple(m.conv_dim_z), conv_dim_s=tuple(m.conv_dim_s), kernels=tuple(m.kernels),
                   strides=tuple(m.strides), hidden_size=m.hidden_size,
                   proj_intermediate_dim=m.proj_intermediate_dim, proj_dim=m.proj_dim, z_dim=m.z_dim,
                   s_dim=m.s_dim, attention_heads_s=m.attention_heads_s, project_ocs=bool(m.project_ocs),
                   branches=m.branches, norm=m.norm)


def conv_out_length(length: int, kernels, strides) -> int:
  for k, s in zip(kernels, strides):
    length = (length - k) // s + 1
  return length


def gelu(x):
  return nn.gelu(x, approximate=False)  # torch's default GELU is the exact (erf) one


class StridedConv1d(nn.Module):
  """A 'valid' Conv1d (bias, He-normal kernel [k, in, out] like nn.Conv) computed as im2col + one matmul:
  x [..., L, in] -> [..., T, out], T = (L - k) // s + 1. With one input channel and k = 10 XLA's direct
  convolution is slow on CPU; k strided slices and a matmul are not."""
  features: int
  kernel_size: int
  stride: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    k, s = self.kernel_size, self.stride
    cin = x.shape[-1]
    kernel = self.param("kernel", nn.initializers.he_normal(), (k, cin, self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    t = (x.shape[-2] - k) // s + 1
    span = s * (t - 1) + 1
    x = x.astype(self.dtype)
    patches = jnp.concatenate([x[..., i:i + span:s, :] for i in range(k)], axis=-1)   # [..., T, k*in], (i, c)
    return patches @ kernel.reshape(k * cin, self.features).astype(self.dtype) + bias.astype(self.dtype)


class BatchStatNorm(nn.Module):
  """The original's CustomLayerNorm: per-channel mean / variance over every position of every selected frame of
  the batch (no running average; also at evaluation). x [B, F, Lv, ..., C], mask [B, F, Lv]: statistics per
  level Lv over B, F and the positions between. Statistics in float32, output in dtype."""
  eps: float = LN_EPS
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask):
    c = x.shape[-1]
    x = x.astype(jnp.float32)
    w = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim)).astype(x.dtype)
    axes = (0, 1) + tuple(range(3, x.ndim - 1))
    count = jnp.maximum(jnp.sum(jnp.broadcast_to(w, x.shape[:-1] + (1,)), axis=axes, keepdims=True), 1.0)
    mean = jnp.sum(w * x, axis=axes, keepdims=True) / count
    var = jnp.sum(w * jnp.square(x - mean), axis=axes, keepdims=True) / count
    y = (x - mean) * jax.lax.rsqrt(var + self.eps)
    y = y * self.param("scale", nn.initializers.ones_init(), (c,)) + \
        self.param("bias", nn.initializers.zeros_init(), (c,))
    return y.astype(self.dtype)


def _norm(kind: str, name: str, dtype):
  if kind == "layer":   # Flax takes LayerNorm statistics in float32 whatever dtype
    return nn.LayerNorm(epsilon=LN_EPS, dtype=dtype, name=name)
  if kind == "batch_compat":
    return BatchStatNorm(dtype=dtype, name=name)
  raise ValueError(f"norm={kind!r} is not one of {NORMS}")


class ConvStack(nn.Module):
  """x [..., L] -> [..., T, channels[-1]]: (conv -> norm -> GELU) per layer (wav2vec2's layer-norm conv layer)."""
  channels: tuple[int, ...]
  kernels: tuple[int, ...]
  strides: tuple[int, ...]
  norm: str = "layer"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask=None):
    h = x[..., None]
    for i, (c, k, s) in enumerate(zip(self.channels, self.kernels, self.strides)):
      h = StridedConv1d(c, k, s, self.dtype, name=f"conv_{i}")(h)
      norm = _norm(self.norm, f"norm_{i}", self.dtype)
      h = norm(h, mask) if self.norm == "batch_compat" else norm(h)
      h = gelu(h)
    return h


class Projection(nn.Module):
  """Dense -> Dense -> GELU with no nonlinearity between the two (the original's project_z / project_s /
  project_OCs)."""
  intermediate: int
  out: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    inner = nn.Dense(self.intermediate, dtype=self.dtype, name="dense_0")(x)
    return gelu(nn.Dense(self.out, dtype=self.dtype, name="dense_1")(inner))


class LevelDense(nn.Module):
  """One Dense per level: x [..., n, in] -> [..., n, out] with kernel [n, in, out] (the per-OC heads)."""
  features: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    n, cin = x.shape[-2:]
    kernel = self.param("kernel", nn.initializers.lecun_normal(batch_axis=(0,)), (n, cin, self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (n, self.features))
    dt = self.dtype
    return jnp.einsum("...ni,nio->...no", x.astype(dt), kernel.astype(dt)) + bias.astype(dt)


class Heads(nn.Module):
  """mu / logvar per level, plus the optional OCs projection (levels 1.. concatenated) and its own head."""
  latent_dim: int
  project_ocs: bool
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, h) -> dict:
    dt = self.dtype
    out = {"h": h, "mu": LevelDense(self.latent_dim, dt, name="mean")(h),
           "logvar": LevelDense(self.latent_dim, dt, name="logvar")(h)}
    if self.project_ocs:
      ocs = h[..., 1:, :].reshape(h.shape[:-2] + (-1,))
      p = Projection(h.shape[-1], h.shape[-1], dt, name="project_ocs")(ocs)   # C*P -> P -> P
      out["proj_mu"] = nn.Dense(self.latent_dim, dtype=dt, name="mean_proj_ocs")(p)
      out["proj_logvar"] = nn.Dense(self.latent_dim, dtype=dt, name="logvar_proj_ocs")(p)
    return precision.to_float32(out)


class ZBranch(nn.Module):
  spec: ModelSpec
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, frames, level_mask):
    """frames [B, F, C+1, D], level_mask [B, F, C+1] (present levels: 'batch_compat' statistics and
    fill_missing) -> dict of [B, F, C+1, .]."""
    sp, dt = self.spec, self.dtype
    h = ConvStack(sp.conv_dim_z, sp.kernels, sp.strides, sp.norm, dt, name="encoder")(frames, level_mask)
    h = h.reshape(h.shape[:3] + (-1,))     # the stack ends at one position per frame: [B, F, C+1, channels]
    norm = _norm(sp.norm, "feature_norm", dt)
    h = norm(h, level_mask) if sp.norm == "batch_compat" else norm(h)
    h = nn.Dense(sp.hidden_size, dtype=dt, name="feature_projection")(h)
    h = fill_missing(h, level_mask)
    h = Projection(sp.proj_intermediate_dim, sp.proj_dim, dt, name="project")(h)
    return Heads(sp.z_dim, sp.project_ocs, dt, name="heads")(h)


class AttentionPool(nn.Module):
  """[N, T, P] -> [N, P]: multi-head attention of one learned query over the T steps, then LayerNorm (the
  original's average pool over the single query position is the identity)."""
  heads: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    p = x.shape[-1]
    query = self.param("query", nn.initializers.normal(1.0), (p,))
    q = jnp.broadcast_to(query.astype(x.dtype), x.shape[:-2] + (1, p))
    y = nn.MultiHeadDotProductAttention(num_heads=self.heads, qkv_features=p, out_features=p, dtype=self.dtype,
                                        name="attention")(q, x)
    return nn.LayerNorm(epsilon=LN_EPS, dtype=self.dtype, name="norm")(y[..., 0, :])


class SBranch(nn.Module):
  spec: ModelSpec
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, seq, present):
    """seq [B, Cs+1, Ls], present [B, Cs+1] -> dict of [B, Cs+1, .]."""
    sp, dt = self.spec, self.dtype
    h = ConvStack(sp.conv_dim_s, sp.kernels, sp.strides, "layer", dt, name="encoder")(seq)   # [B, Cs+1, T, cs]
    h = Projection(sp.proj_intermediate_dim, sp.proj_dim, dt, name="project")(h)
    h = AttentionPool(sp.attention_heads_s, dt, name="pool")(h)
    h = fill_missing(h, present)
    return Heads(sp.s_dim, sp.project_ocs, dt, name="heads")(h)


class DecVAE(nn.Module):
  spec: ModelSpec
  dtype: Any = jnp.float32   # compute dtype; the outputs are float32

  @nn.compact
  def __call__(self, batch) -> dict:
    """batch: frames [B, F, C+1, D], frame_valid [B, F], component_mask [B, F, C], seq [B, Cs+1, Ls] (the
    example layout of data.py) -> {"z": {...}, "s": {...}} with h (loss features), mu, logvar (+ proj_*)."""
    out = {}
    if self.spec.has_z:
      out["z"] = ZBranch(self.spec, self.dtype, name="z_branch")(batch["frames"], level_mask(batch))
    if self.spec.has_s:
      mask = batch["seq_component_mask"]
      present = jnp.concatenate([jnp.ones_like(mask[:, :1]), mask], axis=-1)
      out["s"] = SBranch(self.spec, self.dtype, name="s_branch")(batch["seq"], present)
    return out


def fill_missing(h: jax.Array, present: jax.Array) -> jax.Array:
  """h [B, F, L, H] (or [B, L, H]) with the rows of missing components (present 0) replaced by the batch mean of
  the present rows of the same level, without gradient. The original does the same with a non-trainable
  "embedding" holding the previous batch's mean; this stateless version also keeps the gradient away from the
  zero-filled inputs, whose zero-variance LayerNorms would multiply it by ~1/sqrt(eps) per layer."""
  w = present[..., None].astype(h.dtype)
  axes = tuple(range(h.ndim - 2))
  mean = jnp.sum(w * h, axis=axes) / jnp.maximum(jnp.sum(w, axis=axes), 1.0)
  return jnp.where(w > 0, h, jax.lax.stop_gradient(mean))


def level_mask(batch) -> jax.Array:
  """[B, F, C+1]: the frames each level's batch statistics use ('batch_compat'): X everywhere (the original's
  all-ones mask), component k where the frame is usable and k was found."""
  valid = batch["frame_valid"][..., None]
  return jnp.concatenate([jnp.ones_like(valid), valid * batch["component_mask"]], axis=-1)


def make_model(config) -> DecVAE:
  return DecVAE(model_spec(config), precision.compute_dtype(config))


def init_variables(config, rng, example) -> tuple[dict, dict]:
  """-> (params, model_state={}) for batches shaped like example (its shapes only; batch axis 1)."""
  spec = model_spec(config)
  dummy = {k: jnp.zeros((1,) + tuple(v.shape[1:]), jnp.float32) for k, v in example.items()
           if k in ("frames", "frame_valid", "component_mask", "seq", "seq_component_mask")}
  variables = DecVAE(spec).init(rng, dummy)
  return variables["params"], {}


def encode(config, params, model_state, batch) -> dict[str, dict[str, jax.Array]]:
  """mu per subspace (deterministic, jit-able): {"z": {"X": [B, F, dz], "OC1": ..., "OCs_proj": ...},
  "s": {"X": [B, ds], "OC1": ...}}; a branch the config leaves out is absent."""
  del model_state  # no running statistics ('batch_compat' uses the batch's own)
  out = make_model(config).apply({"params": params}, batch)
  return {branch: latents_by_name(o) for branch, o in out.items()}


def latents_by_name(o: dict) -> dict[str, jax.Array]:
  mu = o["mu"]
  names = {"X": mu[..., 0, :], **{f"OC{k}": mu[..., k, :] for k in range(1, mu.shape[-2])}}
  if "proj_mu" in o:
    names["OCs_proj"] = o["proj_mu"]
  return names


def count_params(params: Any) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))
