"""ConVAE-BSS model: shapes of the separation API, masks that sum to 1, estimates that add up to the mixture, the
oracle-mask round trip through the STFT/ISTFT path, and the one log-variance convention."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from decompjax import config_utils
from decompjax.families.convae_bss import model
from decompjax.metrics.si_sdr import si_sdr_jax

SR = 16000


def config():
  return config_utils.build_config("configs/convae_bss_synmix.py:smoke", [])


def tones(batch=2, length=4001):
  t = np.arange(length) / SR
  voice = np.stack([0.3 * np.sin(2 * np.pi * (220 + 30 * b) * t) for b in range(batch)]).astype(np.float32)
  music = np.stack([0.2 * np.sin(2 * np.pi * (3100 + 50 * b) * t) for b in range(batch)]).astype(np.float32)
  return voice + music, voice, music


def test_separation_api_shapes_masks_and_sums():
  c = config()
  mixture, _, _ = tones(batch=2, length=4001)   # odd length: every sample comes back
  params, state = jax.jit(lambda r, b: model.init_variables(c, r, b))(jax.random.key(0),
                                                                       {"mixture": mixture[:1]})
  assert state == {} and set(params) == {"encoder", "decoder_0", "decoder_1"}
  assert {"mu_0", "logvar_0", "mu_1", "logvar_1"} <= set(params["encoder"])  # the report's four heads

  @jax.jit
  def run(p, x):
    mag = jnp.abs(model.complex_stft(c, x))
    est, masks = model.separate_magnitudes(c, p, {}, mag)
    return mag, est, masks, model.separate_waveforms(c, p, {}, x)

  mag, est, masks, waves = map(np.asarray, run(params, mixture))
  frames = 1 + 4001 // c.audio.hop
  assert mag.shape == (2, 257, frames) and est.shape == masks.shape == (2, 2, 257, frames)
  assert waves.shape == (2, 2, 4001)
  np.testing.assert_allclose(masks.sum(axis=1), 1.0, atol=1e-5)
  np.testing.assert_allclose(est.sum(axis=1), mag, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(waves.sum(axis=1), mixture, atol=1e-4)  # the two outputs add up to the input
  assert np.abs(waves[:, 0] - waves[:, 1]).max() > 1e-3               # and are not the same signal


def test_oracle_masks_round_trip():
  c = config()
  mixture, voice, music = tones(batch=2, length=4001)

  @jax.jit
  def run(x, v, m):
    spec = model.complex_stft(c, x)
    refs = jnp.abs(model.complex_stft(c, jnp.stack([v, m], axis=1)))
    irm = model.soft_masks(refs + model.GAIN_FLOOR, 1.0)
    identity = jnp.stack([jnp.ones_like(spec.real), jnp.zeros_like(spec.real)], axis=1)
    return model.masked_waveforms(c, spec, irm, x.shape[-1]), model.masked_waveforms(c, spec, identity, x.shape[-1])

  oracle, identity = map(np.asarray, run(mixture, voice, music))
  np.testing.assert_allclose(identity[:, 0], mixture, atol=2e-5)  # mask 1 = perfect reconstruction
  np.testing.assert_allclose(identity[:, 1], 0.0, atol=1e-6)
  sdr = np.asarray(si_sdr_jax(np.stack([voice, music], 1), oracle))
  assert sdr.min() > 20.0, sdr   # disjoint tones: the ideal ratio mask separates them


def test_log_variance_convention():
  mu = jnp.full((200_000,), 1.5)
  logvar = jnp.full((200_000,), np.log(0.25))    # sigma^2 = 0.25, sigma = 0.5
  z = np.asarray(jax.jit(model.sample_latent)(mu, logvar, jax.random.key(0)))
  assert abs(z.mean() - 1.5) < 0.01 and abs(z.std() - 0.5) < 0.01  # exp(0.5 logvar), not the report's exp(var)
