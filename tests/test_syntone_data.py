"""SynTone generator (defaults, ordering, determinism, npz layout, splits) and the `syntone` TFDS builder."""
import shutil

import numpy as np
import pytest
from scipy import signal
from sklearn.model_selection import train_test_split

from decompjax.data import syntone
from decompjax.data.syntone import SynToneGrid

# Tiny grids: 4 waveforms x 5 freqs x 2 amps at 4 kHz (4000-sample clips).
TINY = SynToneGrid(sample_rate=4000, freq_start=100.0, num_freqs=5, num_amps=2)


def _original_loop(grid):
  """The original generator.py loop, written out literally (frequency -> amplitude -> waveform)."""
  t = np.linspace(0, grid.duration, grid.num_samples)
  x, y, freqs, amps = [], [], [], []
  for freq in grid.freqs:
    for amp in grid.amps:
      for label, waveform in enumerate(syntone.WAVEFORMS):
        if waveform == "sine":
          x.append(amp * np.sin(2 * np.pi * freq * t))
        elif waveform == "triangle":
          x.append(amp * signal.sawtooth(2 * np.pi * freq * t, 0.5))
        elif waveform == "sawtooth":
          x.append(amp * signal.sawtooth(2 * np.pi * freq * t))
        else:
          x.append(amp * signal.square(2 * np.pi * freq * t))
        y.append(label)
        freqs.append(freq)
        amps.append(amp)
  return np.stack(x), np.array(y), np.array(freqs), np.array(amps)


def test_default_grid_matches_create_py():
  g = SynToneGrid()
  assert g.num_examples == 32_000 and g.shape == (4, 400, 20)
  assert g.num_samples == 16_000
  np.testing.assert_allclose(np.diff(g.freqs), 18.947368, rtol=1e-6)
  np.testing.assert_allclose(np.diff(g.amps), 0.047368, rtol=1e-4)
  assert g.freqs[0] == 440.0 and g.freqs[-1] == 8000.0
  assert round(g.freqs[201], 2) == 4248.42  # the Play.ipynb example
  t = g.time
  assert t[0] == 0.0 and t[-1] == 1.0 and t.size == 16_000  # endpoint included


def test_ordering_and_values_match_original_loop_bitwise():
  x_ref, y_ref, f_ref, a_ref = _original_loop(TINY)
  np.testing.assert_array_equal(syntone.synthesize(TINY, dtype=np.float64), x_ref)
  fac = syntone.factor_indices(TINY)
  assert fac.dtype == np.int32 and fac.shape == (TINY.num_examples, 3)
  np.testing.assert_array_equal(fac[:, 0], y_ref)
  np.testing.assert_array_equal(TINY.freqs[fac[:, 1]], f_ref)
  np.testing.assert_array_equal(TINY.amps[fac[:, 2]], a_ref)
  # index = (fi * n_amp + ai) * 4 + wi, and its inverse.
  for i, (wi, fi, ai) in enumerate(fac):
    assert i == (fi * TINY.num_amps + ai) * 4 + wi == syntone.flat_index(TINY, wi, fi, ai)
  vals = syntone.factor_values(TINY)
  assert vals.dtype == np.float32
  np.testing.assert_allclose(vals, np.stack([y_ref, f_ref, a_ref], 1).astype(np.float32))


def test_synthesize_subset_float32_and_determinism():
  full = syntone.synthesize(TINY)
  assert full.dtype == np.float32 and full.shape == (40, 4000)
  idx = np.array([39, 0, 17, 17])
  np.testing.assert_array_equal(syntone.synthesize(TINY, idx), full[idx])
  np.testing.assert_array_equal(syntone.synthesize(TINY), full)
  with pytest.raises(ValueError, match="indices"):
    syntone.synthesize(TINY, [40])


def test_random_phase_is_seeded_per_clip():
  g = SynToneGrid(sample_rate=4000, freq_start=100.0, num_freqs=5, num_amps=2, random_phase=True, seed=3)
  a = syntone.synthesize(g)
  np.testing.assert_array_equal(a, syntone.synthesize(g))
  np.testing.assert_array_equal(syntone.synthesize(g, [7, 3]), a[[7, 3]])  # same phase whatever the subset
  assert not np.allclose(a, syntone.synthesize(SynToneGrid(**{**g.to_dict(), "seed": 4})))
  assert not np.allclose(a, syntone.synthesize(TINY))
  # A phase shift keeps the waveform's amplitude.
  np.testing.assert_allclose(np.abs(a).max(1), np.abs(syntone.synthesize(TINY)).max(1), rtol=0.02)


def _spectrum_db_at(x, sr, hz):
  spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
  freqs = np.fft.rfftfreq(x.size, 1 / sr)
  band = np.abs(freqs - hz) < 15
  return 20 * np.log10(spec[band].max() / spec.max())


def test_band_limited_removes_aliasing():
  # Square at 5915.79 Hz (grid index 289): its 3rd harmonic (17747 Hz) folds to ~1747 Hz without band limiting.
  kw = dict(num_freqs=400, num_amps=1, amp_start=1.0)
  alias, clean = SynToneGrid(**kw), SynToneGrid(band_limited=True, **kw)
  i = syntone.flat_index(alias, 3, 289, 0)
  assert round(alias.freqs[289], 2) == 5915.79
  f_eff = alias.freqs[289] * alias.sample_rate / (alias.sample_rate - 1)
  alias_hz = 3 * f_eff - alias.sample_rate
  x_alias, x_clean = syntone.synthesize(alias, [i])[0], syntone.synthesize(clean, [i])[0]
  assert _spectrum_db_at(x_alias, 16000, alias_hz) > -20
  assert _spectrum_db_at(x_clean, 16000, alias_hz) < -60
  # Below Nyquist/harmonics the shapes agree with the scipy ones (away from discontinuities).
  low = SynToneGrid(sample_rate=4000, freq_start=20.0, freq_end=40.0, num_freqs=2, num_amps=1)
  naive = syntone.synthesize(low)
  bl = syntone.synthesize(SynToneGrid(**{**low.to_dict(), "band_limited": True}))
  np.testing.assert_allclose(bl[0], naive[0], atol=1e-6)  # sine unchanged
  assert np.median(np.abs(bl - naive)) < 0.02


@pytest.mark.parametrize("kwargs, match", [
    (dict(freq_end=9000.0), "Nyquist"),
    (dict(num_freqs=0), "num_freqs"),
    (dict(num_amps=0), "num_amps"),
    (dict(amp_start=0.0), "amp_start"),
    (dict(amp_start=2.0), "amp_start"),
    (dict(freq_start=-1.0), "freq_start"),
    (dict(freq_start=5000.0, freq_end=1000.0), "freq_start"),
    (dict(sample_rate=0), "sample_rate"),
    (dict(duration=0.0), "duration"),
    (dict(duration=1.00001), "whole number"),
    (dict(num_freqs=2.5), "integer"),
    (dict(amp_end=float("nan")), "finite"),
    (dict(freq_end="8000"), "finite"),
])
def test_bad_grid_errors(kwargs, match):
  with pytest.raises(ValueError, match=match):
    SynToneGrid(**kwargs)


def test_fingerprint_stable_and_distinct():
  assert SynToneGrid().fingerprint() == SynToneGrid(freq_end=8000.0).fingerprint()
  assert SynToneGrid().fingerprint() == SynToneGrid(freq_start=440, amp_end=1, duration=1).fingerprint()
  assert SynToneGrid().fingerprint() == "3fe2c0d7f501"  # pinned: changing it orphans every generated dataset
  fps = {SynToneGrid().fingerprint(), SynToneGrid(num_amps=10).fingerprint(), TINY.fingerprint(),
         SynToneGrid(band_limited=True).fingerprint(), SynToneGrid(random_phase=True).fingerprint()}
  assert len(fps) == 5
  assert all(len(f) == 12 for f in fps)


def test_split_indices_match_sklearn():
  train, val = syntone.split_indices(32_000)
  assert (train.size, val.size) == (25_600, 6_400)
  ref_train, ref_val = train_test_split(np.arange(32_000), test_size=0.2, random_state=42)
  np.testing.assert_array_equal(train, ref_train)
  np.testing.assert_array_equal(val, ref_val)
  assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(32_000))
  t2, v2 = syntone.split_indices(40)
  assert (t2.size, v2.size) == (32, 8)
  with pytest.raises(ValueError, match="val_fraction"):
    syntone.split_indices(40, val_fraction=1.0)
  with pytest.raises(ValueError, match="at least 2"):
    syntone.split_indices(1)


def test_npz_round_trip_original_layout(tmp_path):
  path = syntone.export_npz(TINY, tmp_path / "sub" / "dataset.npz")
  assert sorted(p.name for p in path.parent.iterdir()) == ["dataset.npz"]  # no temp file left behind
  with np.load(path, allow_pickle=True) as raw:  # the original's own loading code
    assert set(raw.files) == {"x", "y", "metadata", "classes"}
    assert raw["x"].dtype == np.float64 and raw["x"].shape == (40, 4000)
  data = syntone.load_npz(path)
  x_ref, y_ref, f_ref, a_ref = _original_loop(TINY)
  np.testing.assert_array_equal(data["x"], x_ref)
  np.testing.assert_array_equal(data["y"], y_ref)
  assert np.issubdtype(data["y"].dtype, np.integer)
  np.testing.assert_array_equal(data["metadata"]["freqs"], f_ref)
  np.testing.assert_array_equal(data["metadata"]["amps"], a_ref)
  assert list(data["metadata"]["waveforms"][:4]) == list(syntone.WAVEFORMS)
  assert data["classes"] == ["sine", "triangle", "sawtooth", "square"]


def test_npz_failed_export_leaves_nothing(tmp_path, monkeypatch):
  def boom(*a, **k):
    raise RuntimeError("disk full")
  monkeypatch.setattr(syntone, "_synthesize_chunk", boom)
  with pytest.raises(RuntimeError, match="disk full"):
    syntone.export_npz(TINY, tmp_path / "d.npz")
  assert list(tmp_path.iterdir()) == []


def test_load_npz_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="not found"):
    syntone.load_npz(tmp_path / "missing.npz")
  np.savez(tmp_path / "partial.npz", x=np.zeros((2, 3)), y=np.zeros(2, int))
  with pytest.raises(ValueError, match=r"missing key\(s\) \['metadata', 'classes'\]"):
    syntone.load_npz(tmp_path / "partial.npz")
  good = syntone.export_npz(TINY, tmp_path / "good.npz")
  broken = tmp_path / "broken.npz"
  broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
  with pytest.raises(ValueError, match="corrupt or truncated"):
    syntone.load_npz(broken)


# ---------------------------------------------------------------- TFDS builder

@pytest.fixture(scope="module")
def tfds_mod():
  return pytest.importorskip("decompjax.data.syntone_tfds")


@pytest.fixture(scope="module")
def built(tfds_mod, tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("tfds")
  builder = tfds_mod.build(TINY, data_dir)
  return data_dir, builder


def _read(ds):
  return list(ds.as_numpy_iterator())


def test_tfds_build_and_load(tfds_mod, built):
  data_dir, builder = built
  assert builder.name == "syntone"
  assert builder.builder_config.name == f"grid_{TINY.fingerprint()}"
  assert '"num_freqs": 5' in builder.builder_config.description
  train_idx, val_idx = syntone.split_indices(TINY.num_examples)
  waves = syntone.synthesize(TINY)
  for split, idx in (("train", train_idx), ("validation", val_idx)):
    examples = _read(tfds_mod.load(TINY, data_dir, split))
    got = np.array([e["index"] for e in examples])
    assert sorted(got) == sorted(idx)
    for e in examples:
      i = int(e["index"])
      assert e["waveform"].dtype == np.float32 and e["waveform"].shape == (4000,)
      np.testing.assert_array_equal(e["waveform"], waves[i])
      np.testing.assert_array_equal(e["factors"], syntone.factor_indices(TINY, [i])[0])
      np.testing.assert_array_equal(e["factor_values"], syntone.factor_values(TINY, [i])[0])
    # Deterministic order across reads.
    assert [int(e["index"]) for e in _read(tfds_mod.load(TINY, data_dir, split))] == list(got)
  assert len(train_idx) == 32 and len(val_idx) == 8
  # build() again reuses the prepared data.
  assert tfds_mod.build(TINY, data_dir).data_dir == builder.data_dir


def test_tfds_per_host_shards_partition_split(tfds_mod, built):
  data_dir, _ = built
  full = [int(e["index"]) for e in _read(tfds_mod.load(TINY, data_dir, "train"))]
  parts = [[int(e["index"]) for e in _read(tfds_mod.load(TINY, data_dir, "train", process_index=p, process_count=3))]
           for p in range(3)]
  assert sorted(sum(parts, [])) == sorted(full)
  assert all(len(p) in (10, 11) for p in parts)
  assert not set(parts[0]) & set(parts[1])
  with pytest.raises(ValueError, match="process_index"):
    tfds_mod.load(TINY, data_dir, "train", process_index=3, process_count=3)


def test_tfds_missing_and_unprepared(tfds_mod, built, tmp_path):
  data_dir, _ = built
  with pytest.raises(FileNotFoundError, match="does not exist"):
    tfds_mod.load(TINY, tmp_path / "nope", "train")
  other = SynToneGrid(sample_rate=4000, freq_start=100.0, num_freqs=3, num_amps=2)
  with pytest.raises(FileNotFoundError, match="no prepared SynTone dataset"):
    tfds_mod.load(other, data_dir, "train")
  with pytest.raises(ValueError, match="unknown split"):
    tfds_mod.load(TINY, data_dir, "test")


def test_tfds_truncated_shard_is_reported(tfds_mod, built, tmp_path):
  src_dir, _ = built
  data_dir = tmp_path / "copy"
  shutil.copytree(src_dir, data_dir)
  shard = next((data_dir / "syntone").rglob("syntone-train.tfrecord-*"))
  shard.write_bytes(shard.read_bytes()[:-1000])
  with pytest.raises(ValueError, match=rf"corrupt.*truncated or unreadable.*{shard.name}"):
    tfds_mod.load(TINY, data_dir, "train")
  # Opening any split checks every shard: the damaged train file is named before a run starts.
  with pytest.raises(ValueError, match=rf"{shard.name}.*delete .* regenerate"):
    tfds_mod.load(TINY, data_dir, "validation")


def test_tfds_failed_generation_is_not_a_dataset(tfds_mod, tmp_path, monkeypatch):
  grid = SynToneGrid(sample_rate=4000, freq_start=100.0, num_freqs=4, num_amps=2)
  real = syntone.synthesize
  calls = []

  def flaky(*a, **k):
    calls.append(1)
    if len(calls) > 1:
      raise RuntimeError("generation interrupted")
    return real(*a, **k)

  monkeypatch.setattr(syntone, "synthesize", flaky)
  with pytest.raises(RuntimeError, match="generation interrupted"):
    tfds_mod.build(grid, tmp_path)
  with pytest.raises(FileNotFoundError, match="no prepared"):
    tfds_mod.load(grid, tmp_path, "train")
  monkeypatch.setattr(syntone, "synthesize", real)
  assert len(_read(tfds_mod.load(grid, tmp_path, "train", generate=True))) == 25
