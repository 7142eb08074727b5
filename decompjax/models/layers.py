"""Layers shared by the models."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

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


class ConvTranspose3x3s2(nn.Module):
  """Stride-2 3x3 transposed conv doubling H and W; parameters as nn.ConvTranspose ('kernel' [3,3,in,out], 'bias')."""
  features: int
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init, (3, 3, x.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    return conv_transpose_3x3_s2(x, kernel.astype(x.dtype), bias.astype(x.dtype))
