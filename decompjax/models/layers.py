"""Layers shared by the models."""
from __future__ import annotations

from typing import Callable, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

# Below this many input channels a 3x3 conv runs as im2col + one matmul (see conv3x3_same).
_IM2COL_MAX_CHANNELS = 4


def conv3x3_same(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
  """Exactly `nn.Conv(k=3, padding=1)` (= torch Conv2d(3, padding=1)), NHWC. With few input channels (the
  1-channel spectrogram entering VAEDeep) XLA:CPU's direct convolution runs at ~5 GFLOP/s and was the slowest
  op of the SynTone step; im2col (9 shifted copies, concatenated in two passes) + one matmul measured 2.7x
  faster, forward and forward + backward. Wider inputs keep XLA's convolution, which is already near matmul speed there."""
  b, h, w, cin = x.shape
  if cin > _IM2COL_MAX_CHANNELS:
    y = lax.conv_general_dilated(x, kernel, (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + bias
  xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  cols = jnp.concatenate([xp[:, :, dx:dx + w] for dx in range(3)], axis=-1)         # [b, h+2, w, 3*cin]
  patches = jnp.concatenate([cols[:, dy:dy + h] for dy in range(3)], axis=-1)       # [b, h, w, 9*cin], (dy, dx, c)
  y = patches.reshape(-1, 9 * cin) @ kernel.reshape(9 * cin, -1)
  return y.reshape(b, h, w, -1) + bias


class _Kernel3x3Layer(nn.Module):
  """A layer with Flax's conv parameters ('kernel' [3, 3, in, out] lecun-normal, 'bias' zeros) computed by the
  subclass's `op(x, kernel, bias)`, so checkpoints match nn.Conv / nn.ConvTranspose ones."""
  features: int
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  op: ClassVar[Callable]

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init, (3, 3, x.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    return type(self).op(x, kernel.astype(x.dtype), bias.astype(x.dtype))


class Conv3x3(_Kernel3x3Layer):
  """3x3 'same' conv = nn.Conv(features, (3, 3), padding=1), computed by conv3x3_same."""
  op = staticmethod(conv3x3_same)


@jax.custom_vjp
def max_pool_2x2(x: jax.Array) -> jax.Array:
  """2x2/2 max pooling (NHWC) = nn.max_pool(x, (2, 2), strides=(2, 2)). The gradient goes to the first maximum
  of each window in row-major order, as torch's MaxPool2d does. Hand-written backward: a few fused elementwise
  selects, where autodiff of a max reduction counts ties with an extra reduction (and XLA's select-and-scatter
  for nn.max_pool is slower still). Measured: the SynTone step on one core ~16 % faster."""
  return _max_pool_windows(x).max(axis=(2, 4))


def _max_pool_windows(x):
  b, h, w, c = x.shape
  return x.reshape(b, h // 2, 2, w // 2, 2, c)


def _max_pool_fwd(x):
  y = max_pool_2x2(x)
  return y, (x, y)


def _max_pool_bwd(res, g):
  x, y = res
  windows = _max_pool_windows(x)
  taken = jnp.zeros(y.shape, bool)
  rows = []
  for dy in (0, 1):
    row = []
    for dx in (0, 1):
      hit = (windows[:, :, dy, :, dx, :] == y) & ~taken
      taken = taken | hit
      row.append(jnp.where(hit, g, jnp.zeros_like(g)))
    rows.append(jnp.stack(row, axis=3))               # [b, h/2, w/2, 2(dx), c]
  return (jnp.stack(rows, axis=2).reshape(x.shape),)  # [b, h/2, 2(dy), w/2, 2(dx), c] -> NHWC


max_pool_2x2.defvjp(_max_pool_fwd, _max_pool_bwd)


# Phase of the output (even/odd row or column) -> kernel tap used at input offset 0 and offset +1.
_TAPS = {0: (1, None), 1: (0, 2)}


def conv_transpose_3x3_s2(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
  """Exactly `nn.ConvTranspose(k=3, strides=2, padding=((1, 2), (1, 2)))` (= torch ConvTranspose2d(3, stride 2,
  padding 1, output_padding 1)), computed as one dense 2x2 conv producing the four output phases, then
  depth-to-space. XLA's lhs-dilated convolution multiplies the inserted zeros; this does 16 instead of 36
  taps per input pixel and measured ~4x faster (forward + backward) on CPU."""
  b, h, w, _ = x.shape
  cout = kernel.shape[-1]
  zero = jnp.zeros_like(kernel[0, 0])

  def tap(ky, kx):
    return zero if ky is None or kx is None else kernel[ky, kx]

  phases = [jnp.stack([jnp.stack([tap(_TAPS[a][dy], _TAPS[c][dx]) for dx in (0, 1)]) for dy in (0, 1)])
            for a in (0, 1) for c in (0, 1)]
  wk = jnp.concatenate(phases, axis=-1)  # [2, 2, cin, 4*cout], phase-major
  y = lax.conv_general_dilated(jnp.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0))), wk, (1, 1), "VALID",
                               dimension_numbers=("NHWC", "HWIO", "NHWC"))
  y = y.reshape(b, h, w, 2, 2, cout).transpose(0, 1, 3, 2, 4, 5).reshape(b, 2 * h, 2 * w, cout)
  return y + bias


class ConvTranspose3x3s2(_Kernel3x3Layer):
  """Stride-2 3x3 transposed conv doubling H and W = the nn.ConvTranspose above, by conv_transpose_3x3_s2."""
  op = staticmethod(conv_transpose_3x3_s2)
