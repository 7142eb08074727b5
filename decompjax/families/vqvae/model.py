"""The STFT VQ-VAE ([BT] models/encoder_decoder.py, from TimeVQVAE) and its Barlow-Twins variant, as Flax Linen
modules, and the builders that make them from a config.

Images are NHWC: H = frequency bins (kept at n_fft//2+1), W = STFT frames (halved per block).
PyTorch -> Flax notes: replicate padding is an explicit edge pad before a VALID conv; ConvTranspose with
torch padding p uses Flax padding k-1-p (so width doubles exactly); BatchNorm momentum 0.9 = torch 0.1;
LeakyReLU slope 0.01; conv kernels use torch's default init variance (1/(3 fan_in)).
"""
from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from decompjax import precision
from decompjax.audio import stft
from decompjax.families.vqvae import quantizer

_KINIT = nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform")


def downsample_rate(length: int, n_fft: int, downsampled_width: int) -> int:
  """[TV] compute_downsample_rate: round(L / (log2(n_fft) - 1) / width), 1 if L < width (clamped >= 1)."""
  if length < downsampled_width:
    return 1
  return max(1, round(length / (math.log2(n_fft) - 1) / downsampled_width))


def num_down_blocks(rate: int) -> int:
  return max(1, int(np.log2(rate)))


def _bn(train: bool, dtype, name=None):
  # Flax computes the statistics in float32 whatever dtype (force_float32_reductions), so running averages are too.
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=dtype, name=name)


def _lrelu(x):
  return nn.leaky_relu(x, 0.01)


class ResBlock(nn.Module):
  """x + [LReLU -> Conv3x3 -> (BN) -> LReLU -> Conv1x1](x); dropout is 0 in every config and omitted."""
  dim: int
  bn: bool
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool):
    h = nn.Conv(self.dim, (3, 3), padding=((1, 1), (1, 1)), kernel_init=_KINIT, dtype=self.dtype)(_lrelu(x))
    if self.bn:
      h = _bn(train, self.dtype)(h)
    h = nn.Conv(self.dim, (1, 1), kernel_init=_KINIT, dtype=self.dtype)(_lrelu(h))
    return x + h


class Encoder(nn.Module):
  """(B, F, T, 2C) -> (B, F, T', dim): stride-(1,2) (3,4) convs with replicate padding, then ResBlocks."""
  dim: int = 64
  n_down: int = 3
  n_res: int = 4
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, u, train: bool):
    h = u.astype(self.dtype)
    for _ in range(self.n_down):
      h = jnp.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
      h = nn.Conv(self.dim, (3, 4), strides=(1, 2), padding="VALID", kernel_init=_KINIT, dtype=self.dtype)(h)
      h = _lrelu(_bn(train, self.dtype)(h))
    for _ in range(self.n_res):
      h = _bn(train, self.dtype)(ResBlock(self.dim, bn=True, dtype=self.dtype)(h, train))
    return h


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
  """Linear interpolation weights with align_corners=True semantics (torch F.interpolate)."""
  m = np.zeros((n_out, n_in), np.float32)
  src = np.arange(n_out) * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(1)
  lo = np.clip(np.floor(src).astype(int), 0, n_in - 1)
  hi = np.minimum(lo + 1, n_in - 1)
  frac = (src - lo).astype(np.float32)
  m[np.arange(n_out), lo] += 1 - frac
  m[np.arange(n_out), hi] += frac
  return m


def resize_bilinear_align_corners(x: jnp.ndarray, size: tuple[int, int]) -> jnp.ndarray:
  """(B, H, W, C) -> (B, h, w, C); separable, as two small matmuls (jax.image.resize has no align_corners)."""
  mh = _interp_matrix(size[0], x.shape[1])
  mw = _interp_matrix(size[1], x.shape[2])
  return jnp.einsum("oh,bhwc,pw->bopc", mh, x, mw)


class UpConv(nn.Module):
  """ConvTranspose2d(k=(3,4), s=(1,2), p=(1,1)) of PyTorch (= flax ConvTranspose, padding ((1,1),(2,2))),
  computed as one stride-1 conv + pixel shuffle: XLA:CPU runs input-dilated convs ~5x slower.
  Output column 2m uses input columns (m-1, m) with kernel taps (0, 2); column 2m+1 uses (m, m+1) with
  taps (1, 3). Same parameters ('kernel' (3,4,in,out), 'bias') and same function as nn.ConvTranspose.
  Computes in its input's dtype."""
  features: int

  @nn.compact
  def __call__(self, x):
    cin = x.shape[-1]
    k = self.param("kernel", _KINIT, (3, 4, cin, self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    zero = jnp.zeros_like(k[:, 0])
    even = jnp.stack([k[:, 0], k[:, 2], zero], axis=1)
    odd = jnp.stack([zero, k[:, 1], k[:, 3]], axis=1)
    kernel = jnp.concatenate([even, odd], axis=-1).astype(x.dtype)  # (3, 3, in, 2*out)
    y = jax.lax.conv_general_dilated(x, kernel, (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    b, h, w, _ = y.shape
    y = y.reshape(b, h, w, 2, self.features).reshape(b, h, 2 * w, self.features)
    return y + bias.astype(y.dtype)


class Decoder(nn.Module):
  """(B, F, T', dim) -> (B, F, T, 2C): ResBlocks (no inner BN), (n_down-1) ConvT blocks, two ConvT to 2C
  channels (the original's 'one more upsampling layer'), then bilinear resize to the exact STFT size."""
  out_channels: int
  out_size: tuple[int, int]
  dim: int = 64
  n_down: int = 3
  n_res: int = 4
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z, train: bool):
    h = z.astype(self.dtype)
    for _ in range(self.n_res):
      h = _bn(train, self.dtype)(ResBlock(self.dim, bn=False, dtype=self.dtype)(h, train))
    for _ in range(self.n_down - 1):
      h = _lrelu(_bn(train, self.dtype)(UpConv(self.dim)(h)))
    h = UpConv(self.out_channels)(h)
    h = UpConv(self.out_channels)(h)
    return resize_bilinear_align_corners(h, self.out_size)


class VQVAE(nn.Module):
  """STFT -> Encoder -> EMA VQ -> Decoder -> iSTFT for series (B, L, C) of a fixed length. The STFT, the
  quantiser (distances, EMA) and the iSTFT run in float32; encoder and decoder in `dtype`."""
  length: int
  channels: int = 1
  n_fft: int = 8
  hop: int = 0             # 0 -> n_fft // 4 (torch default)
  window: str = "rect"
  dim: int = 64
  n_res: int = 4
  downsampled_width: int = 8
  codebook_size: int = 32
  decay: float = 0.8
  kmeans_init: bool = False
  kmeans_iters: int = 10
  dead_code_threshold: float = 0.0
  drop_odd_last: bool = False  # compat: the original's lost last sample for odd L
  dtype: Any = jnp.float32     # compute dtype of encoder and decoder (decompjax/precision.py)

  def setup(self):
    hop = self.hop or self.n_fft // 4
    n_down = num_down_blocks(downsample_rate(self.length, self.n_fft, self.downsampled_width))
    size = (self.n_fft // 2 + 1, stft.num_frames(self.length, self.n_fft, hop))
    self.encoder = Encoder(self.dim, n_down, self.n_res, dtype=self.dtype)
    self.vq = quantizer.VectorQuantizer(self.codebook_size, self.dim, self.decay, 1e-5, self.kmeans_init,
                                        self.kmeans_iters, self.dead_code_threshold)
    self.decoder = Decoder(2 * self.channels, size, self.dim, n_down, self.n_res, dtype=self.dtype)

  def to_stft(self, x):
    return stft.stft(x, self.n_fft, self.hop or self.n_fft // 4, self.window)

  def to_time(self, u):
    return stft.istft(u, self.length, self.n_fft, self.hop or self.n_fft // 4, self.window,
                            self.drop_odd_last)

  def encode(self, x, train: bool):
    u = self.to_stft(x)
    return u, precision.to_float32(self.encoder(u, train))

  def quantize(self, z, train: bool):
    return self.vq(z, train)

  def decode(self, z_q, train: bool):
    u_hat = precision.to_float32(self.decoder(z_q, train))
    return u_hat, self.to_time(u_hat)

  def __call__(self, x, train: bool):
    u, z = self.encode(x, train)
    z_q, q, idx = self.quantize(z, train)
    u_hat, x_hat = self.decode(z_q, train)
    return dict(u=u, z=z, z_q=z_q, q=q, idx=idx, u_hat=u_hat, x_hat=x_hat)

  def eval_outputs(self, x):
    return self(x, train=False)


_DENSE_INIT = nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform")  # torch nn.Linear default


class Projector(nn.Module):
  """Barlow head ([BT] models/barlowtwins.py): Linear -> BN -> ReLU -> Linear -> BN -> ReLU -> Linear."""
  width: int = 4096
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, h, train: bool):
    for _ in range(2):
      h = nn.Dense(self.width, kernel_init=_DENSE_INIT, dtype=self.dtype)(h)
      h = nn.relu(_bn(train, self.dtype)(h))
    # float32 out: the Barlow loss standardises and cross-correlates these over the batch
    return nn.Dense(self.width, kernel_init=_DENSE_INIT, dtype=self.dtype)(h).astype(jnp.float32)


class BarlowVQVAE(nn.Module):
  """Siamese (weight-shared) VQ-VAE over two views + projector. Params: {'vqvae': ..., 'projector': ...}.

  Global-batch statistics: the projector BatchNorm (and the Barlow loss's standardisation and cross-correlation,
  loss.py) are plain reductions over the batch axis; under the trainer's sharded jit XLA computes them over the
  *global* batch (tests/test_vqvae_barlow.py checks that an 8-device step equals the 1-device step).
  """
  vqvae: VQVAE
  projector_width: int = 4096

  def setup(self):
    self.projector = Projector(self.projector_width, dtype=self.vqvae.dtype)

  def embed(self, z, train: bool):
    return self.projector(jnp.max(z, axis=(1, 2)), train)  # global max-pool over (F, T')

  def __call__(self, x1, x2, pick_first, train: bool = True):
    """Both views go through the encoder as one 2B batch (so BN and the EMA codebook see both views in a
    single update; the original ran the encoder and updated the codebook once per view). The projector
    runs per view, like the original, so its BatchNorm normalises each view separately. `pick_first`
    (bool scalar) selects the view whose quantised latent is decoded and which is the recon target."""
    b = x1.shape[0]
    # Interleave the views (series i -> rows 2i, 2i+1) rather than concatenating them: with the batch
    # sharded on 'data', each device then keeps both views of its own series (no resharding).
    both = jnp.stack([x1, x2], axis=1).reshape(2 * b, *x1.shape[1:])
    u, z = self.vqvae.encode(both, train)
    z_q, q, idx = self.vqvae.quantize(z, train)
    view = lambda a, i: a.reshape(b, 2, *a.shape[1:])[:, i]
    e1, e2 = self.embed(view(z, 0), train), self.embed(view(z, 1), train)
    sel = lambda a: jnp.where(pick_first, view(a, 0), view(a, 1))
    u_hat, x_hat = self.vqvae.decode(sel(z_q), train)
    return dict(u=sel(u), z=sel(z), q=sel(q), idx=sel(idx), u_hat=u_hat, x_hat=x_hat, e1=e1, e2=e2)

  def eval_outputs(self, x):
    return self.vqvae(x, train=False)


def build_vqvae(config, length: int, channels: int) -> VQVAE:
  """The plain model for series (length, channels); Python only (the step builds it from the batch shape)."""
  m = config.model
  return VQVAE(length=length, channels=channels, n_fft=m.n_fft, hop=m.hop, window=m.window, dim=m.dim,
               n_res=m.n_resnet_blocks, downsampled_width=m.downsampled_width, codebook_size=m.codebook_size,
               decay=m.decay, kmeans_init=m.kmeans_init, kmeans_iters=m.kmeans_iters,
               dead_code_threshold=m.dead_code_threshold, drop_odd_last=config.compat.istft_drop_odd_last,
               dtype=precision.compute_dtype(config))


def build_barlow(config, length: int, channels: int) -> BarlowVQVAE:
  return BarlowVQVAE(build_vqvae(config, length, channels), config.model.projector_width)


def split_variables(variables) -> tuple[dict, dict]:
  """Flax variables -> (params, the other collections: 'batch_stats', 'vq')."""
  variables = dict(variables)
  return variables.pop("params"), variables


def eval_apply(config, state, x):
  """Eval-mode outputs (BN running stats, frozen codebook) of the plain model; jit-compatible."""
  model = build_vqvae(config, x.shape[1], x.shape[2])
  return model.apply({"params": state.params, **state.model_state}, x, method=VQVAE.eval_outputs)


def eval_apply_barlow(config, state, x):
  """Eval-mode outputs of the Barlow model's VQ-VAE (the projector plays no part in evaluation)."""
  model = build_barlow(config, x.shape[1], x.shape[2])
  return model.apply({"params": state.params, **state.model_state}, x, method=BarlowVQVAE.eval_outputs)
