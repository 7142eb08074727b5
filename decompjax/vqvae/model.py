"""Encoder/decoder of the STFT VQ-VAE ([BT] models/encoder_decoder.py, from TimeVQVAE), as Flax Linen modules.

Images are NHWC: H = frequency bins (kept at n_fft//2+1), W = STFT frames (halved per block).
PyTorch -> Flax notes: replicate padding is an explicit edge pad before a VALID conv; ConvTranspose with
torch padding p uses Flax padding k-1-p (so width doubles exactly); BatchNorm momentum 0.9 = torch 0.1;
LeakyReLU slope 0.01; conv kernels use torch's default init variance (1/(3 fan_in)).
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

_KINIT = nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform")


def downsample_rate(length: int, n_fft: int, downsampled_width: int) -> int:
  """[TV] compute_downsample_rate: round(L / (log2(n_fft) - 1) / width), 1 if L < width (clamped >= 1)."""
  if length < downsampled_width:
    return 1
  return max(1, round(length / (math.log2(n_fft) - 1) / downsampled_width))


def num_down_blocks(rate: int) -> int:
  return max(1, int(np.log2(rate)))


def _bn(train: bool, name=None):
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


def _lrelu(x):
  return nn.leaky_relu(x, 0.01)


class ResBlock(nn.Module):
  """x + [LReLU -> Conv3x3 -> (BN) -> LReLU -> Conv1x1](x); dropout is 0 in every config and omitted."""
  dim: int
  bn: bool

  @nn.compact
  def __call__(self, x, train: bool):
    h = nn.Conv(self.dim, (3, 3), padding=((1, 1), (1, 1)), kernel_init=_KINIT)(_lrelu(x))
    if self.bn:
      h = _bn(train)(h)
    h = nn.Conv(self.dim, (1, 1), kernel_init=_KINIT)(_lrelu(h))
    return x + h


class Encoder(nn.Module):
  """(B, F, T, 2C) -> (B, F, T', dim): stride-(1,2) (3,4) convs with replicate padding, then ResBlocks."""
  dim: int = 64
  n_down: int = 3
  n_res: int = 4

  @nn.compact
  def __call__(self, u, train: bool):
    h = u
    for _ in range(self.n_down):
      h = jnp.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
      h = nn.Conv(self.dim, (3, 4), strides=(1, 2), padding="VALID", kernel_init=_KINIT)(h)
      h = _lrelu(_bn(train)(h))
    for _ in range(self.n_res):
      h = _bn(train)(ResBlock(self.dim, bn=True)(h, train))
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
  taps (1, 3). Same parameters ('kernel' (3,4,in,out), 'bias') and same function as nn.ConvTranspose."""
  features: int

  @nn.compact
  def __call__(self, x):
    cin = x.shape[-1]
    k = self.param("kernel", _KINIT, (3, 4, cin, self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    zero = jnp.zeros_like(k[:, 0])
    even = jnp.stack([k[:, 0], k[:, 2], zero], axis=1)
    odd = jnp.stack([zero, k[:, 1], k[:, 3]], axis=1)
    kernel = jnp.concatenate([even, odd], axis=-1)  # (3, 3, in, 2*out)
    y = jax.lax.conv_general_dilated(x, kernel, (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    b, h, w, _ = y.shape
    y = y.reshape(b, h, w, 2, self.features).reshape(b, h, 2 * w, self.features)
    return y + bias


class Decoder(nn.Module):
  """(B, F, T', dim) -> (B, F, T, 2C): ResBlocks (no inner BN), (n_down-1) ConvT blocks, two ConvT to 2C
  channels (the original's 'one more upsampling layer'), then bilinear resize to the exact STFT size."""
  out_channels: int
  out_size: tuple[int, int]
  dim: int = 64
  n_down: int = 3
  n_res: int = 4

  @nn.compact
  def __call__(self, z, train: bool):
    h = z
    for _ in range(self.n_res):
      h = _bn(train)(ResBlock(self.dim, bn=False)(h, train))
    for _ in range(self.n_down - 1):
      h = _lrelu(_bn(train)(UpConv(self.dim)(h)))
    h = UpConv(self.out_channels)(h)
    h = UpConv(self.out_channels)(h)
    return resize_bilinear_align_corners(h, self.out_size)


class VQVAE(nn.Module):
  """STFT -> Encoder -> EMA VQ -> Decoder -> iSTFT for series (B, L, C) of a fixed length."""
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

  def setup(self):
    from decompjax.vqvae import quantizer, stft  # noqa: PLC0415 (kept local: model.py stays conv-only)
    self._stft = stft
    hop = self.hop or self.n_fft // 4
    n_down = num_down_blocks(downsample_rate(self.length, self.n_fft, self.downsampled_width))
    size = (self.n_fft // 2 + 1, stft.num_frames(self.length, self.n_fft, hop))
    self.encoder = Encoder(self.dim, n_down, self.n_res)
    self.vq = quantizer.VectorQuantizer(self.codebook_size, self.dim, self.decay, 1e-5, self.kmeans_init,
                                        self.kmeans_iters, self.dead_code_threshold)
    self.decoder = Decoder(2 * self.channels, size, self.dim, n_down, self.n_res)

  def to_stft(self, x):
    return self._stft.stft(x, self.n_fft, self.hop or self.n_fft // 4, self.window)

  def to_time(self, u):
    return self._stft.istft(u, self.length, self.n_fft, self.hop or self.n_fft // 4, self.window,
                            self.drop_odd_last)

  def encode(self, x, train: bool):
    u = self.to_stft(x)
    return u, self.encoder(u, train)

  def quantize(self, z, train: bool):
    return self.vq(z, train)

  def decode(self, z_q, train: bool):
    u_hat = self.decoder(z_q, train)
    return u_hat, self.to_time(u_hat)

  def __call__(self, x, train: bool):
    u, z = self.encode(x, train)
    z_q, q, idx = self.quantize(z, train)
    u_hat, x_hat = self.decode(z_q, train)
    return dict(u=u, z=z, z_q=z_q, q=q, idx=idx, u_hat=u_hat, x_hat=x_hat)

  def eval_outputs(self, x):
    return self(x, train=False)


def reconstruction_losses(x, out) -> dict:
  """time MSE + STFT MSE + commitment mse(sg(q), z) (unweighted means, as the original)."""
  return dict(recon_time=jnp.mean((x - out["x_hat"]) ** 2),
              recon_stft=jnp.mean((out["u"] - out["u_hat"]) ** 2),
              commit=jnp.mean((out["q"] - out["z"]) ** 2))
