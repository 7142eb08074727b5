"""Autodecompose augmentations: what each must preserve and destroy, notebook semantics, jit/vmap."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.interpolate import CubicSpline, interp1d

from decompjax.families.autodecompose import augment as A

T, F = 64, 80


def _speechlike(seed=0):
  """A crop with a strong time envelope (syllable bursts) and a voice-like spectral envelope (formant bumps)."""
  rng = np.random.default_rng(seed)
  t = np.arange(T)[:, None]
  f = np.arange(F)[None, :]
  env = 0.2 + np.abs(np.sin(2 * np.pi * t / 23.0 + seed)) ** 3                 # time envelope
  spec = np.exp(-((f - 18) / 4.0) ** 2) + 0.7 * np.exp(-((f - 45) / 5.0) ** 2)   # formants
  return (env * (0.2 + spec) + 0.01 * rng.random((T, F))).astype(np.float32)


@pytest.fixture(scope="module")
def batches():
  x = np.stack([_speechlike(s) for s in range(16)])
  out = {}
  for name in ("notebook", "paper"):
    cfg = A.from_preset(name)
    fn = jax.jit(lambda k, m, cfg=cfg: A.augment_batch(k, m, cfg))
    out[name] = [np.asarray(v) for v in fn(jax.random.key(0), jnp.asarray(x))]
    out[name + "_fn"] = fn
  return x, out


def _corr(a, b):
  return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("preset", ["notebook", "paper"])
def test_content_aug_keeps_time_envelope_and_moves_spectrum(batches, preset):
  x, out = batches
  base, _, a_c = out[preset]
  env_corr = [_corr(base[i].sum(1), a_c[i].sum(1)) for i in range(len(x))]
  assert min(env_corr) > 0.95  # content (time envelope) kept
  # voice destroyed: the long-term spectrum's formant peak moves (|r| >= 2 % of 80 bins from bin ~18/45)
  lt_base, lt_c = base.mean(1), a_c.mean(1)
  moved = [np.argmax(lt_base[i][30:]) != np.argmax(lt_c[i][30:]) for i in range(len(x))]
  assert np.mean(moved) > 0.6
  # frequency masks never touch the lowest 10 bins
  low_zero = (a_c[:, :, :10] == 0).all(axis=1)
  assert not low_zero.any()


@pytest.mark.parametrize("preset", ["notebook", "paper"])
def test_voice_aug_keeps_long_term_spectrum_and_destroys_alignment(batches, preset):
  x, out = batches
  base, a_s, _ = out[preset]
  for i in range(len(x)):
    kept = np.abs(a_s[i]).sum(1) > 0          # frames that were not masked
    # every surviving frame is a frame of the base -> the long-term spectrum is that of the base frames
    dist = np.abs(a_s[i][kept][:, None, :] - base[i][None, :, :]).sum(-1).min(1)
    assert np.allclose(dist, 0.0)
    assert _corr(a_s[i][kept].mean(0), base[i].mean(0)) > 0.99
  # time alignment destroyed: the frame-energy envelope no longer matches the base on average
  env_corr = [_corr(base[i].sum(1), a_s[i].sum(1)) for i in range(len(x))]
  assert np.mean(env_corr) < 0.5


def test_notebook_scrambling_is_one_roll():
  x = jnp.arange(T, dtype=jnp.float32)[:, None] * jnp.ones((1, 3))
  for k in range(5):
    y = np.asarray(A.scramble_rolls(jax.random.key(k), x, 5, 19, 5, 10))[:, 0]
    shift = int(y[0])
    np.testing.assert_array_equal(y, (np.arange(T) + shift) % T)


def test_paper_scrambling_cuts_into_reordered_segments():
  x = jnp.arange(T, dtype=jnp.float32)[:, None]
  for k in range(5):
    y = np.asarray(A.scramble_segments(jax.random.key(k), x, 5, 20))[:, 0].astype(int)
    assert sorted(y.tolist()) == list(range(T))           # a permutation of the frames
    breaks = int(np.sum(np.diff(y) != 1))
    assert 5 <= breaks <= 20                              # 5-20 cuts, order inside segments kept
    assert not (np.diff(y) == 1).all()


def _notebook_stretch(x, rs, ds):
  for r, d in zip(rs, ds):  # literal port of the notebook's list operations
    idx = list(range(x.shape[0]))
    idx[d:d] = [d]
    idx.remove(r)
    x = x[idx]
  return x


def test_dup_drop_matches_notebook_list_semantics():
  x = np.arange(T)
  for k in range(6):
    key = jax.random.key(k)
    y = np.asarray(A.dup_drop(key, jnp.asarray(x), 4))
    kn, kr, kd = jax.random.split(key, 3)
    n = int(jax.random.randint(kn, (), 0, 5))
    rs = np.asarray(jax.random.randint(kr, (4,), 0, T))[:n]
    ds = np.asarray(jax.random.randint(kd, (4,), 0, T))[:n]
    np.testing.assert_array_equal(y, _notebook_stretch(x, rs, ds))


@pytest.mark.parametrize("rate", [1.17, 0.85, 1.06, 0.79])
def test_freq_warp_linear_matches_notebook_interp1d(rate):
  x = _speechlike(3)
  new_range = np.int32(rate * F)
  f = interp1d(np.linspace(0, new_range, F), x, axis=1)
  ref = np.zeros_like(x)
  if rate >= 1:
    ref = f(list(range(F)))
  else:
    ref[:, :new_range] = f(list(range(new_range)))
  np.testing.assert_allclose(np.asarray(A.freq_warp(jnp.asarray(x), rate, "linear")), ref, atol=1e-5)


def test_freq_warp_cubic_is_a_natural_spline():
  x = _speechlike(4)
  rate = 1.1
  new_range = int(rate * F)
  src = np.arange(F) * (F - 1) / new_range
  ref = CubicSpline(np.arange(F), x, axis=1, bc_type="natural")(src)
  np.testing.assert_allclose(np.asarray(A.freq_warp(jnp.asarray(x), rate, "cubic")), ref, atol=1e-4)


def test_masks_respect_notebook_bounds():
  x = jnp.ones((T, F))
  for k in range(8):
    y = np.asarray(A.mask_along(jax.random.key(k), x, 1, 15, 15, 1, 5, 10, F - 5))
    zero_cols = (y == 0).all(0)
    assert not zero_cols[:10].any() and 1 <= zero_cols.sum() <= 75
    y = np.asarray(A.mask_along(jax.random.key(k), x, 0, 2, 2, 2, 2, 0, T - 2))
    zero_rows = (y == 0).all(1)
    assert 2 <= zero_rows.sum() <= 4


def test_batch_keys_are_per_example_and_deterministic(batches):
  x, out = batches
  base, a_s, a_c = out["notebook"]
  # rerunning with the same key is identical; examples get different augmentations
  again = [np.asarray(v) for v in out["notebook_fn"](jax.random.key(0), jnp.asarray(x))]
  for a, b in zip(again, (base, a_s, a_c)):
    np.testing.assert_allclose(a, b, atol=1e-6)
  assert not np.allclose(a_s[0], a_s[1])


def test_presets_and_bad_names():
  assert A.from_preset("paper").base is False and A.from_preset("notebook").base is True
  with pytest.raises(ValueError, match="unknown augmentation preset"):
    A.from_preset("keras")
  with pytest.raises(ValueError, match="scramble"):
    A.AugmentConfig(scramble="shuffle")
