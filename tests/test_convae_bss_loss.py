"""ConVAE-BSS objectives on 2-source toys where the answer is known: oracle estimates cost ~0, swapped sources cost
under `supervised` but not under PIT or MixIT, masks sum to 1 and mixture consistency is exact, the compat loss
cannot tell a separation from no separation."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from decompjax import config_utils, config_validation
from decompjax.errors import ConfigError
from decompjax.families.convae_bss import loss, model
from decompjax.losses.vae import gaussian_kl

SR = 16000
# jitted once: eager op-by-op dispatch is most of these tests' time otherwise
supervised_term = jax.jit(loss.supervised_term, static_argnums=(2, 3))
mixit_term = jax.jit(loss.mixit_term, static_argnums=(3,))
compat_term = jax.jit(loss.compat_term)
soft_masks = jax.jit(model.soft_masks, static_argnums=(1,))


def toy_sources(batch=4, seconds=0.25, seed=0):
  """Voice-like low sinusoids and music-like high ones: disjoint STFT bins, so |X| = |V| + |M| (nearly)."""
  t = np.arange(int(SR * seconds)) / SR
  f = np.random.default_rng(seed).uniform(0, 1, size=(batch, 1))
  voice = (0.3 * np.sin(2 * np.pi * (200 + 100 * f) * t)).astype(np.float32)
  music = (0.2 * np.sin(2 * np.pi * (3000 + 500 * f) * t)).astype(np.float32)
  return {"mixture": voice + music, "voice": voice, "music": music}


def smoke_config(objective="mixture_consistent"):
  return config_utils.build_config(f"configs/convae_bss_synmix.py:smoke,objective={objective}", [])


def magnitudes(batch):
  config = smoke_config()
  mags = jax.jit(lambda b: jnp.abs(model.complex_stft(config, jnp.stack([b["mixture"], b["voice"], b["music"]], 1))))
  m = np.asarray(mags(batch))
  return m[:, 0], m[:, 1:]   # |X| [B, F, T], |S| [B, 2, F, T]


def test_supervised_oracle_zero_swap_penalised_unless_pit():
  x, s = magnitudes(toy_sources())
  swapped = s[:, ::-1]
  for kind in loss.RECONS:
    assert float(jnp.max(supervised_term(s, s, kind, pit=False))) == 0.0
    assert float(jnp.min(supervised_term(swapped, s, kind, pit=False))) > 0.01
    assert float(jnp.max(supervised_term(swapped, s, kind, pit=True))) == 0.0
    # PIT picks the better order per example: half swapped, half not -> still 0
    mixed = np.concatenate([swapped[:2], s[2:]])
    assert float(jnp.max(supervised_term(mixed, s, kind, pit=True))) == 0.0


def test_masks_sum_to_one_and_the_masked_sources_add_up_to_the_mixture():
  r = jnp.asarray(np.random.default_rng(0).gamma(0.5, size=(3, 2, 9, 7)), jnp.float32) + model.GAIN_FLOOR
  x, _ = magnitudes(toy_sources(batch=3))
  for p in (0.5, 1.0, 2.0):
    masks = soft_masks(r, p)
    np.testing.assert_allclose(np.asarray(masks.sum(axis=1)), 1.0, atol=1e-6)
    assert float(masks.min()) >= 0.0
  masks = soft_masks(jnp.asarray(np.random.default_rng(1).gamma(1.0, size=(3, 2) + x.shape[1:]),
                                       jnp.float32) + model.GAIN_FLOOR, 1.0)
  est = masks * x[:, None]
  np.testing.assert_allclose(np.asarray(est.sum(axis=1)), x, rtol=1e-5, atol=1e-6)


def test_mixture_consistent_oracle_masks_give_the_sources():
  x, s = magnitudes(toy_sources())
  masks = soft_masks(s + model.GAIN_FLOOR, 1.0)   # the ideal ratio mask (p = 1)
  est = masks * x[:, None]
  scale = x.mean()
  err = supervised_term(est / scale, s / scale, "l1", pit=False)
  wrong = supervised_term(soft_masks(jnp.ones_like(s), 1.0) * x[:, None] / scale, s / scale, "l1", False)
  assert float(jnp.max(err)) < 0.02 * float(jnp.min(wrong))  # ~0 (the STFTs of the two tones barely overlap)


def test_mixit_oracle_and_swapped_masks_cost_zero_uniform_masks_do_not():
  rng = np.random.default_rng(2)
  a, b = (jnp.asarray(rng.gamma(1.0, size=(3, 6, 5)), jnp.float32) for _ in range(2))  # two mixtures' mags
  mom = a + b                                                          # a toy where |MoM| = |X_1| + |X_2|
  mixes = jnp.stack([a, b], axis=1)
  oracle = jnp.stack([a / mom, b / mom], axis=1)
  for kind in loss.RECONS:
    assert float(jnp.max(mixit_term(oracle, mom, mixes, kind))) < 1e-6
    assert float(jnp.max(mixit_term(oracle[:, ::-1], mom, mixes, kind))) < 1e-6  # assignment-invariant
    half = jnp.full_like(oracle, 0.5)
    assert float(jnp.min(mixit_term(half, mom, mixes, kind))) > 0.01
  # the 4 assignments include "both to one mixture": masks that give everything to one branch are scored as that
  assert loss.ASSIGNMENTS.shape == (4, 2)
  all_in_0 = jnp.stack([jnp.ones_like(a), jnp.zeros_like(a)], axis=1)
  only_a = mixit_term(all_in_0, mom, jnp.stack([mom, jnp.zeros_like(a)], axis=1), "l1")
  assert float(jnp.max(only_a)) < 1e-6


def test_compat_cannot_tell_a_separation_from_none():
  x, s = magnitudes(toy_sources())
  x = x + 1e-2                                             # above the dB floor
  unseparated = jnp.stack([x, x], axis=1)                   # both branches = the mixture: masks 0.5 / 0.5
  geometric = jnp.stack([4 * x, x / 4], axis=1)             # any pair whose dB mean is the mixture's
  assert float(jnp.max(compat_term(unseparated, x))) < 1e-10
  assert float(jnp.max(compat_term(geometric, x))) < 1e-6
  # the true sources are NOT a minimum: averaging dB values of two sources is not the dB of their sum
  assert float(jnp.min(compat_term(s, x))) > 0.1


def test_kl_term_is_both_branches_gaussian_kl_per_bin():
  rng = np.random.default_rng(3)
  lat = tuple(jnp.asarray(rng.normal(size=(2, 3, 4, 2)), jnp.float32) for _ in range(4))
  want = (gaussian_kl(lat[0].reshape(2, -1), lat[1].reshape(2, -1))
          + gaussian_kl(lat[2].reshape(2, -1), lat[3].reshape(2, -1))) / 100
  np.testing.assert_allclose(np.asarray(loss.kl_term(lat, 100)), np.asarray(want), rtol=1e-6)
  zeros = tuple(jnp.zeros((2, 3, 4, 2)) for _ in range(4))
  assert float(jnp.max(jnp.abs(loss.kl_term(zeros, 100)))) == 0.0


def test_every_objective_is_finite_on_the_toy_and_bad_setups_fail_clearly():
  batch = toy_sources(batch=2, seconds=0.25)
  config = smoke_config()
  params, _ = jax.jit(lambda r, b: model.init_variables(config, r, b))(jax.random.key(0),
                                                                       {"mixture": batch["mixture"][:1]})
  configs = {objective: smoke_config(objective) for objective in loss.OBJECTIVES}
  # one program for the four objectives: one compilation
  outs = jax.jit(lambda p, b, r: {o: loss.objective(c, p, b, r) for o, c in configs.items()})(
      params, batch, jax.random.key(1))
  for objective, (value, terms) in outs.items():
    c = configs[objective]
    assert np.isfinite(float(value)) and float(terms["kl"]) > 0, objective
    np.testing.assert_allclose(float(value), float(terms["recon"]) + c.model.beta * float(terms["kl"]), rtol=1e-5)
  mixture_only = {"mixture": batch["mixture"]}
  with pytest.raises(ConfigError, match="needs 'voice' and 'music' stems"):
    loss.objective(smoke_config("supervised"), params, mixture_only)
  with pytest.raises(ConfigError, match="batch_size must be even"):
    loss.objective(smoke_config("mixit"), params, {"mixture": np.zeros((3, 4000), np.float32)})
  with pytest.raises(ConfigError, match="model.objective"):
    config_utils.build_config("configs/convae_bss_synmix.py:smoke,objective=dB", [])


def test_config_choices_match_the_code_and_presets_validate():
  assert config_validation.CHOICES["model.objective"] == loss.OBJECTIVES
  assert config_validation.CHOICES["model.recon"] == loss.RECONS
  for arg in ("", "smoke", "demo", "compat", "smoke,compat", "smoke,objective=mixit", "objective=supervised"):
    config_validation.validate(config_utils.build_config("configs/convae_bss_synmix.py" + (":" + arg) * bool(arg), []))
  compat = config_utils.build_config("configs/convae_bss_synmix.py:smoke,compat", [])
  assert compat.model.objective == "compat" and compat.train.keep_best_by == "val/loss" and not compat.model.skip
  with pytest.raises(ConfigError, match="audio.hop"):
    config_utils.build_config("configs/convae_bss_synmix.py:smoke", [("audio.hop", "100")])
