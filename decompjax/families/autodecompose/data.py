"""Autodecompose inputs: 64-frame mel crops with speaker labels, from SimVowels (default) or a speech corpus.

`config.data.dir == ''` -> SimVowels (generated once through its TFDS builder under `config.data.cache_dir`,
default `decompjax.data.paths.default_data_dir()`); splits train/validation/test have disjoint speakers.
Otherwise `config.data.dir` is a LibriSpeech-layout folder (`decompjax.data.speech_corpus`).
"""
from __future__ import annotations

import dataclasses
import functools
import os

import jax
import numpy as np

from decompjax.audio import speech_features as feat_lib
from decompjax.audio import wav as wav_lib
from decompjax.data import host_share, paths, speech_corpus, tfds_local
from decompjax.errors import ConfigError, DataError, MissingInputError


@dataclasses.dataclass
class Crops:
  mel: np.ndarray            # [N, 64, F] float32
  speaker: np.ndarray        # [N] int32 (SimVowels: global id 0..19; corpus: index into speaker_names)
  group: np.ndarray          # [N] int32 source utterance / file
  speaker_names: list[str]
  source: str


def feature_spec(config) -> feat_lib.MelFeatures:
  return feat_lib.from_preset(config.features.preset)


def input_spec(config) -> dict[str, jax.ShapeDtypeStruct]:
  """One example batch as make_dataset yields it: a mel crop [1, frames, n_mels] and its speaker id."""
  feats = feature_spec(config)
  if feats.n_mels != config.model.n_mels:  # the generator's output must match the crops it reconstructs
    raise ConfigError(f"config field 'model.n_mels' = {config.model.n_mels}: must equal the {feats.n_mels} mel "
                      f"bands of features.preset={config.features.preset!r}")
  return {"mel": jax.ShapeDtypeStruct((1, feats.crop_frames, feats.n_mels), np.float32),
          "speaker": jax.ShapeDtypeStruct((1,), np.int32)}


def _simvowels_params(config) -> tuple:
  s = config.data.simvowels
  return (s.excitation, float(s.seconds), float(s.snr_db), int(s.seed), int(s.num_train), int(s.num_validation),
          int(s.num_test))


def _simvowels_config(params: tuple):
  from decompjax.data import simvowels_tfds
  return simvowels_tfds.make_config(*params)


def prepare_data(config) -> None:
  """Generates the run's SimVowels set if it is not there yet (a corpus is read as it is). On several processes
  process 0 generates it into config.data.cache_dir while the others wait, then each checks that it sees it."""
  if config.data.dir:
    return
  from decompjax.data import simvowels_tfds
  sv_config = _simvowels_config(_simvowels_params(config))
  data_dir = paths.resolve_data_dir(config.data.cache_dir)
  paths.prepare_shared(f"SimVowels {sv_config.name}", data_dir, "data.cache_dir", config.data.cache_dir,
                       build=lambda: tfds_local.verified_shards(simvowels_tfds.builder(sv_config, data_dir)),
                       ready=lambda: simvowels_tfds.is_prepared(sv_config, data_dir),
                       barrier=f"simvowels_data_{sv_config.name}")


def _utterance_crops(wav: np.ndarray, feats: feat_lib.MelFeatures, seed: int, i: int) -> np.ndarray:
  """The crops of SimVowels utterance i of a split (seeded by its index: a share cuts the same crops)."""
  return feat_lib.wav_to_crops(wav, feats, np.random.default_rng([seed, i]))


@functools.lru_cache(maxsize=4)
def _simvowels_crops(params: tuple, data_dir: str, split: str, feats: feat_lib.MelFeatures, seed: int,
                     generate: bool) -> Crops:
  """Memoised per process on the generator parameters (train, eval and probe share the crops)."""
  from decompjax.data import simvowels, simvowels_tfds
  sv_config = _simvowels_config(params)
  data = simvowels_tfds.load_numpy(sv_config, data_dir, split, generate=generate)
  mels, spk, grp = [], [], []
  for i, (wav, sp) in enumerate(zip(data["audio"], data["speaker"])):
    c = _utterance_crops(wav, feats, seed, i)
    mels.append(c)
    spk.append(np.full(len(c), sp, np.int32))
    grp.append(np.full(len(c), i, np.int32))
  if not sum(len(m) for m in mels):
    raise DataError(f"SimVowels utterances of {sv_config.seconds} s are shorter than one 64-frame crop; "
                    "use data.simvowels.seconds >= 1.1")
  names = [f"SP{i + 1}" for i in range(len(simvowels._ALL_V))]
  return Crops(np.concatenate(mels), np.concatenate(spk), np.concatenate(grp), names,
               f"SimVowels {sv_config.name} ({split})")


def load_crops(config, split: str, *, generate: bool = True) -> Crops:
  """All crops of one split ('train', 'validation', 'test'; a corpus also accepts 'all'). generate=False: a
  SimVowels set that prepare_data has not made is an error instead of being generated here."""
  feats = feature_spec(config)
  if config.data.dir:
    c = config.data.corpus
    cc = speech_corpus.load_crops_cached(config.data.dir, feats, split, c.holdout_every, config.seed,
                                         c.max_files_per_speaker)
    return Crops(cc.mel, cc.speaker, cc.file, cc.speakers, f"corpus {config.data.dir} ({split})")
  if split == "all":
    split = "test"
  params, data_dir = _simvowels_params(config), paths.resolve_data_dir(config.data.cache_dir)
  generate = generate and paths.only_process()  # one of several processes never generates: process 0 does
  if not generate and not _simvowels_visible(params, data_dir):
    raise paths.not_visible(f"SimVowels {_simvowels_config(params).name}", data_dir, "data.cache_dir")
  return _simvowels_crops(params, data_dir, split, feats, config.seed, generate)


def _simvowels_visible(params: tuple, data_dir: str) -> bool:
  from decompjax.data import simvowels_tfds
  return simvowels_tfds.is_prepared(_simvowels_config(params), data_dir)


@functools.lru_cache(maxsize=4)
def _simvowels_share(params: tuple, data_dir: str, split: str, feats: feat_lib.MelFeatures, seed: int,
                     process_index: int, process_count: int) -> tuple[np.ndarray, np.ndarray]:
  """(mel, speaker) of this process's share of a split's crops, featurising only the utterances in it: an
  utterance's crop count follows from its length, so the share is planned before any mel is computed. (The
  split's audio is read whole: reading is cheap next to the mel front end.)"""
  from decompjax.data import simvowels_tfds
  data = simvowels_tfds.load_numpy(_simvowels_config(params), data_dir, split, generate=False)
  counts = [speech_corpus.crop_count(len(wav), feats) for wav in data["audio"]]
  mels, spk = [], []
  for i, start, stop in host_share.item_ranges(counts, process_index, process_count):
    mels.append(_utterance_crops(data["audio"][i], feats, seed, i)[start:stop])
    spk.append(np.full(stop - start, data["speaker"][i], np.int32))
  if not mels:
    raise DataError(f"SimVowels {split} split has {sum(counts)} crops, fewer than the {process_count} processes "
                    "reading it")
  return np.concatenate(mels), np.concatenate(spk)


def _share(config, split: str, process_index: int, process_count: int) -> tuple[np.ndarray, np.ndarray]:
  """(mel, speaker) of this process's block of the split's crops (host_share), featurised alone."""
  feats = feature_spec(config)
  if config.data.dir:
    c = config.data.corpus
    cc = speech_corpus.load_crops_share_cached(config.data.dir, feats, split, c.holdout_every, config.seed,
                                               c.max_files_per_speaker, process_index, process_count)
    return cc.mel, cc.speaker
  params, data_dir = _simvowels_params(config), paths.resolve_data_dir(config.data.cache_dir)
  if not _simvowels_visible(params, data_dir):
    raise paths.not_visible(f"SimVowels {_simvowels_config(params).name}", data_dir, "data.cache_dir",
                            process_index, process_count)
  return _simvowels_share(params, data_dir, "test" if split == "all" else split, feats, config.seed,
                          process_index, process_count)


def make_dataset(config, split: str, *, process_index: int = 0, process_count: int = 1):
  """Unbatched tf.data source of {'mel': [64, 80] float32, 'speaker': int32}. One of several processes takes a
  contiguous block of the split's crops, the same number on every process, and featurises only the utterances
  (or corpus files) in it; the SimVowels set must have been generated by prepare_data (process 0). The only
  process generates it when missing and reads every crop."""
  from decompjax.input_pipeline import tf_on_cpu_only
  tf = tf_on_cpu_only()
  if process_count == 1:
    crops = load_crops(config, split, generate=paths.may_generate(process_count))
    if not len(crops.mel):
      raise DataError(f"{crops.source} has no crops (is the split empty? corpus validation needs speakers "
                      f"with >= data.corpus.holdout_every files)")
    mel, speaker = crops.mel, crops.speaker
  else:
    mel, speaker = _share(config, split, process_index, process_count)
  return tf.data.Dataset.from_tensor_slices({"mel": mel, "speaker": speaker})


def file_crops(path: str, feats: feat_lib.MelFeatures, seed: int = 0) -> np.ndarray:
  """The mel crops of one audio file (mono, resampled); a missing, unusable or too short file is an error
  naming it."""
  if not os.path.isfile(path):
    raise MissingInputError(f"audio file not found: {path}")
  try:
    wav = wav_lib.read_audio(path, feats.sample_rate, feats.min_samples)
  except wav_lib.UnusableAudio as e:
    raise DataError(f"cannot embed {path}: {e.reason.replace('_', '-')} file "
                    f"(need readable audio of at least {feats.min_samples / feats.sample_rate:.2f} s)") from None
  return feat_lib.wav_to_crops(wav, feats, np.random.default_rng(seed))
