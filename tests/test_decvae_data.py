"""DecVAE data (decompjax.families.decvae.data): SimVowels prepare -> cache -> dataset, the cache's idempotence and
atomicity, corpus data through the same path, and bad inputs (NaN, silence, frames with no component)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from configs import decvae_simvowels
from decompjax import decomposition as dec
from decompjax.audio import mel_patch
from decompjax.data import frame_labels as fl
from decompjax.data import simvowels, timit
from decompjax.errors import ConfigError, DataError, MissingInputError
from decompjax.families.decvae import data

from decvae_trees import noise, timit_tree, timit_utterance, voc_als_tree, write_wav


def _config(tmp_path, **data_fields):
  c = decvae_simvowels.get_config("smoke")
  c.decomp.method = "ewt"            # the fast method: these tests are about the data path
  c.data.cache_dir = str(tmp_path / "cache")
  c.data.input_type = "waveform"
  c.data.simvowels.update(dict(num_train=3, num_validation=2, num_test=2))
  c.data.quality_figures = False
  for k, v in data_fields.items():
    setattr(c.data, k, v)
  return c


def test_simvowels_prepare_dataset_shapes_and_contents(tmp_path):
  c = _config(tmp_path, quality_figures=True)
  folder = data.prepare_data(c)
  assert os.path.basename(folder) == data.fingerprint(c)
  spec = data.input_spec(c)
  arrays = data.load_split_arrays(c, "train")
  assert set(arrays) == set(spec) == {"frames", "frame_valid", "component_mask", "overlap", "vowel", "seq",
                                      "seq_component_mask", "speaker"}
  for k, s in spec.items():
    assert arrays[k].shape == (3,) + s.shape[1:] and arrays[k].dtype == s.dtype, k
  assert spec["frames"].shape == (1, 24, 4, 400) and spec["seq"].shape == (1, 3, 8000)
  # Level 0 = frames of the normalised, notched clip; vowel labels = the spec's rule on the generated vowels.
  g = simvowels.generate("train", 3, simvowels.SimVowelsSpec(seconds=0.5))
  x = (g["audio"][1] - g["audio"][1].mean()) / g["audio"][1].std()
  np.testing.assert_allclose(arrays["frames"][1, :, 0], dec.frame_signal(dec.notch(x)), atol=1e-5)
  np.testing.assert_allclose(arrays["seq"][1, 0], dec.notch(x), atol=1e-5)
  want, overlap = fl.frame_labels(fl.segments(g["vowel"][1], 1600), 8000)
  np.testing.assert_array_equal(arrays["vowel"][1], want)
  np.testing.assert_array_equal(arrays["overlap"][1], overlap)
  np.testing.assert_array_equal(arrays["speaker"], g["speaker"])
  # Components sit in levels 1..C, zero where the mask says missing.
  missing = arrays["component_mask"] == 0
  assert np.all(arrays["frames"][:, :, 1:][missing] == 0)
  assert arrays["frame_valid"].min() == 1 and arrays["component_mask"][:, :, 0].min() == 1
  diag = json.load(open(os.path.join(folder, "diagnostics.json")))
  train = diag["splits"]["train"]
  assert diag["method"] == "ewt" and train["utterances"] == 3 and train["frames_no_component"] == 0
  assert train["quality"]["frames"] == 72 and train["quality"]["nrmse"]["mean"] < 1.0
  assert os.path.isfile(os.path.join(folder, "figures", "train", "ewt_correlogram.png"))
  # The tf.data source yields the same examples; two processes take contiguous blocks of n // 2 utterances.
  ds = list(data.make_dataset(c, "train").as_numpy_iterator())
  assert len(ds) == 3
  np.testing.assert_array_equal(ds[2]["frames"], arrays["frames"][2])
  p0 = list(data.make_dataset(c, "train", process_index=0, process_count=2).as_numpy_iterator())
  p1 = list(data.make_dataset(c, "train", process_index=1, process_count=2).as_numpy_iterator())
  assert len(p0) == len(p1) == 1
  assert np.array_equal(p0[0]["frames"], arrays["frames"][0]) and np.array_equal(p1[0]["frames"], arrays["frames"][1])
  assert len(data.load_split_arrays(c, "validation", limit=1)["frames"]) == 1


def test_cache_is_idempotent_keyed_and_atomic(tmp_path):
  c = _config(tmp_path)
  c.decomp.seq_level = False
  folder = data.prepare_data(c)
  stamp = {f: os.stat(os.path.join(folder, f)).st_mtime_ns for f in os.listdir(folder)}
  assert data.prepare_data(c) == folder
  assert stamp == {f: os.stat(os.path.join(folder, f)).st_mtime_ns for f in os.listdir(folder)}
  assert "seq" not in data.load_split_arrays(c, "test")
  c.decomp.noc = 2                                        # another knob, another cache
  other = data.prepare_data(c)
  assert other != folder and data.load_split_arrays(c, "test")["component_mask"].shape == (2, 24, 2)
  assert not [d for d in os.listdir(os.path.dirname(folder)) if d.startswith(".tmp")]
  # With several processes the dataset never generates: a missing cache is an error naming it.
  c.decomp.noc = 4
  with pytest.raises(MissingInputError, match="data prepare"):
    data.make_dataset(c, "train", process_index=0, process_count=2)


def test_mel_input_is_the_patch_of_each_level(tmp_path):
  c = _config(tmp_path)
  c.decomp.seq_level = True
  wave = data.load_split_arrays(c, "validation")
  c.data.input_type = "mel"
  mel = data.load_split_arrays(c, "validation")
  assert mel["frames"].shape == wave["frames"].shape and mel["seq"].shape == (2, 3, 8000)
  np.testing.assert_allclose(mel["frames"], mel_patch.mel_patch(wave["frames"]), atol=1e-3)
  np.testing.assert_allclose(mel["seq"], mel_patch.mel_sequence(wave["seq"]), atol=1e-3)


def _timit_config(tmp_path, root):
  c = _config(tmp_path, name="timit", dir=str(root), seconds=0.6)
  c.decomp.seq_level = False
  return c


def test_timit_through_prepare_with_silence_skip_and_unusable_frames(tmp_path):
  root = timit_tree(tmp_path / "TIMIT")
  timit_utterance(root, "TRAIN", "DR1", "FCJF0", "SX2", audio=np.zeros(9600))          # silent: skipped
  half = np.concatenate([noise(0.3, 7), np.zeros(4800)])
  timit_utterance(root, "TRAIN", "DR2", "MKLW0", "SX3", audio=half)                    # silent second half
  c = _timit_config(tmp_path, root)
  c.decomp.notch = False
  folder = data.prepare_data(c)
  arrays = data.load_split_arrays(c, "train")
  assert set(arrays) == {"frames", "frame_valid", "component_mask", "overlap", "phoneme", "speaker"}
  assert len(arrays["frames"]) == 3 and list(arrays["speaker"]) == [1, 3, 3]
  diag = json.load(open(os.path.join(folder, "diagnostics.json")))["splits"]["train"]
  assert diag["skipped"]["silent"]["count"] == 1 and diag["skipped"]["silent"]["items"][0].endswith("SX2.WAV")
  assert diag["frames_no_component"] > 0
  assert arrays["frame_valid"][2, -3:].max() == 0 and arrays["frame_valid"][2, :5].min() == 1
  # Trimmed 7600 samples = 23 real frames of 29; labels from the shifted alignment.
  n_real = fl.num_frames(7600)
  assert arrays["frame_valid"][0, n_real:].max() == 0 and arrays["phoneme"][0, n_real:].max() == fl.UNKNOWN
  u = timit.load_utterances(str(root), "train").utterances[0]
  want, _ = fl.frame_labels(u.intervals.shifted(u.start, 7600), 7600, 29)
  np.testing.assert_array_equal(arrays["phoneme"][0], want)
  assert {timit.PHONES_39[i] for i in arrays["phoneme"][0] if i >= 0} == {"ao", "s", "sil"}


def test_nan_samples_name_the_file_and_leave_no_cache(tmp_path):
  root = timit_tree(tmp_path / "TIMIT")
  bad = noise(0.6, 9)
  bad[100] = np.nan
  wav = timit_utterance(root, "TEST", "DR1", "MDAB0", "SX9", audio=None)
  write_wav(wav, bad, subtype="FLOAT")
  c = _timit_config(tmp_path, root)
  with pytest.raises(DataError, match=r"SX9.WAV has NaN/Inf samples"):
    data.prepare_data(c)
  parent = os.path.dirname(data.cache_dir(c))
  assert os.listdir(parent) == []                          # neither a cache nor a temporary folder


def test_config_errors(tmp_path):
  c = _config(tmp_path, name="timit")
  with pytest.raises(ConfigError, match="data.dir"):
    data.input_spec(c)
  c = _config(tmp_path, input_type="spectrogram")
  with pytest.raises(ConfigError, match="data.input_type"):
    data.input_spec(c)
  with pytest.raises(DataError, match="no split 'train'"):
    data.load_split_arrays(_config(tmp_path, name="voc_als", dir=str(tmp_path)), "train")


def test_frames_example_packs_traversal_tokens(tmp_path):
  c = _config(tmp_path)
  tv = simvowels.traversal_set(vowels=5)
  assert tv["tokens"].shape == (295, 400) and len(np.unique(tv["v"])) == 59
  batch = data.frames_example(c, tv["tokens"][:30])
  spec = data.input_spec(c)
  assert set(batch) == set(spec)
  assert batch["frames"].shape == (2, 24, 4, 400) and batch["seq"].shape == (2, 3, 8000)
  assert batch["frame_valid"][0].min() == 1 and batch["frame_valid"][1, 6:].max() == 0
  fs = simvowels.traversal_set("fixed_speakers")
  assert list(fs["vowel"][:6]) == [0, 1, 2, 3, 4, 0] and list(tv["vowel"][58:61]) == [0, 1, 1]


def test_voc_als_through_prepare_has_its_factors(tmp_path):
  root = voc_als_tree(tmp_path / "voc")
  c = _config(tmp_path, name="voc_als", dir=str(root))
  c.decomp.seq_level = False
  arrays = data.load_split_arrays(c, "test")
  assert set(arrays) == {"frames", "frame_valid", "component_mask", "overlap", "phoneme", "speaker", "king_stage",
                         "task"}
  assert list(arrays["task"]) == [0, 1, 5] and list(arrays["king_stage"]) == [-1, 3, 3]
  assert np.all(arrays["phoneme"] == arrays["task"][:, None]) and arrays["overlap"].max() == 0
