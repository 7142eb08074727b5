"""ConVAE-BSS data hookup: prepare_data + make_dataset shapes and exact stems, test tracks, corpora, bad config."""
from __future__ import annotations

import numpy as np
import pytest

import fake_separation_trees as fake
from configs import convae_bss_synmix
from decompjax.errors import ConfigError, DataError
from decompjax.families.convae_bss import data


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
  config = convae_bss_synmix.get_config("smoke")
  config.data.cache_dir = str(tmp_path_factory.mktemp("synmix_cache"))
  config.data.synmix.max_seconds = 0.7  # clips of 0.5-0.7 s: train crops of 0.5 s start anywhere in them
  data.prepare_data(config)
  return config


def _examples(config, split, **kw):
  return list(data.make_dataset(config, split, **kw).as_numpy_iterator())


def test_input_spec_and_example_shapes_with_exact_stems(smoke):
  spec = data.input_spec(smoke)
  n = int(smoke.data.seconds * smoke.audio.sample_rate)
  assert {k: (s.shape, s.dtype) for k, s in spec.items()} == {k: ((1, n), np.float32)
                                                              for k in ("mixture", "voice", "music")}
  for split, count in (("train", 16), ("validation", 8), ("test", 2)):
    examples = _examples(smoke, split)
    assert len(examples) == count
    for ex in examples:
      assert set(ex) == {"mixture", "voice", "music"} and ex["mixture"].shape == (n,)
      assert ex["mixture"].dtype == np.float32
      np.testing.assert_array_equal(ex["mixture"], ex["voice"] + ex["music"])
      assert np.abs(ex["voice"]).max() > 0 and np.abs(ex["music"]).max() > 0


def test_crops_are_deterministic_and_hosts_split_the_data(smoke):
  a, b = _examples(smoke, "train"), _examples(smoke, "train")
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x["mixture"], y["mixture"])
  halves = [_examples(smoke, "train", process_index=i, process_count=2) for i in range(2)]
  assert [len(h) for h in halves] == [8, 8]
  seen = sorted(float(np.sum(ex["mixture"] ** 2)) for h in halves for ex in h)
  np.testing.assert_allclose(seen, sorted(float(np.sum(ex["mixture"] ** 2)) for ex in a), rtol=1e-6)


def test_test_tracks_are_full_length_clips_in_index_order(smoke):
  from decompjax.data import synmix
  tracks = data.test_tracks(smoke)
  assert [t.name for t in tracks] == ["synmix_test_0000", "synmix_test_0001"]
  spec = data.synmix_config(smoke).spec
  for i, track in enumerate(tracks):
    clip = synmix.clip(spec, "test", i)
    np.testing.assert_array_equal(track.mixture, clip.mixture)
    np.testing.assert_array_equal(track.voice, clip.voice)
    assert track.sample_rate == 16000
  assert len(data.test_tracks(smoke, limit=1)) == 1


def test_corpus_crops_drop_silent_ones(tmp_path):
  config = convae_bss_synmix.get_config("smoke")
  root = fake.ccmixter(tmp_path / "cc", num=6, seconds=1.2)
  voice = root / "song02" / "source-02.wav"  # a train song whose voice stops after 0.5 s
  audio = fake.tone(1.2, 16000, 440.0)
  audio[8000:] = 0.0
  fake.write(voice, audio, 16000)
  with config.unlocked():
    config.data.name, config.data.dir = "ccmixter", str(root)
  data.prepare_data(config)
  examples = _examples(config, "train")
  assert len(examples) == 3 * 2 - 1  # 3 train songs (02, 03, 04) x 2 crops of 0.5 s, minus the voiceless crop
  for ex in examples:
    assert ex["voice"].shape == (8000,)
    np.testing.assert_array_equal(ex["mixture"], ex["voice"] + ex["music"])
  assert [t.name for t in data.test_tracks(config)] == ["song00", "song05"]


def test_bad_config_is_one_clear_error(tmp_path):
  config = convae_bss_synmix.get_config("smoke")
  with config.unlocked():
    config.data.name = "irmas"
  with pytest.raises(ConfigError, match="data.name"):
    data.make_dataset(config, "train")
  config = convae_bss_synmix.get_config("smoke")
  with config.unlocked():
    config.data.name = "musdb18"
  with pytest.raises(ConfigError, match="data.dir"):
    data.prepare_data(config)
  config = convae_bss_synmix.get_config("smoke")
  config.data.synmix.snr_db_low = 9.0
  with pytest.raises(ConfigError, match="data.synmix.*snr_db_low"):
    data.prepare_data(config)
  config = convae_bss_synmix.get_config("smoke")
  with config.unlocked():
    config.data.name, config.data.dir = "ccmixter", str(fake.ccmixter(tmp_path / "cc", num=1))
  with pytest.raises(DataError, match="split 'train'"):
    data.prepare_data(config)


def test_unprepared_synmix_is_an_error_when_several_hosts_read(tmp_path):
  from decompjax.errors import MissingInputError
  config = convae_bss_synmix.get_config("smoke")
  config.data.cache_dir = str(tmp_path / "empty_cache")
  with pytest.raises(MissingInputError, match="decompjax data prepare"):
    data.make_dataset(config, "train", process_index=0, process_count=2)
