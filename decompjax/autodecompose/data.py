"""Autodecompose inputs: 64-frame mel crops with speaker labels, from SimVowels (default) or a speech corpus.

`config.data.dir == ''` -> SimVowels (generated once through its TFDS builder under `config.data.cache_dir`,
default `decompjax.data.paths.default_data_dir()`); splits train/validation/test have disjoint speakers.
Otherwise `config.data.dir` is a LibriSpeech-layout folder (`decompjax.data.speech_corpus`).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from decompjax.autodecompose import features as feat_lib
from decompjax.data import paths, speech_corpus


@dataclasses.dataclass
class Crops:
  mel: np.ndarray            # [N, 64, F] float32
  speaker: np.ndarray        # [N] int32 (SimVowels: global id 0..19; corpus: index into speaker_names)
  group: np.ndarray          # [N] int32 source utterance / file
  speaker_names: list[str]
  source: str


def feature_spec(config) -> feat_lib.MelFeatures:
  return feat_lib.from_preset(config.features.preset)


def _simvowels_params(config) -> tuple:
  s = config.data.simvowels
  return (s.excitation, float(s.seconds), float(s.snr_db), int(s.seed), int(s.num_train), int(s.num_validation),
          int(s.num_test))


def simvowels_config(config):
  from decompjax.data import simvowels_tfds
  return simvowels_tfds.make_config(*_simvowels_params(config))


@functools.lru_cache(maxsize=4)
def _simvowels_crops(params: tuple, data_dir: str, split: str, feats: feat_lib.MelFeatures, seed: int) -> Crops:
  """Memoised per process on the generator parameters (train, eval and probe share the crops)."""
  from decompjax.data import simvowels, simvowels_tfds
  sv_config = simvowels_tfds.make_config(*params)
  data = simvowels_tfds.load_numpy(sv_config, data_dir, split)
  mels, spk, grp = [], [], []
  for i, (wav, sp) in enumerate(zip(data["audio"], data["speaker"])):
    c = feat_lib.wav_to_crops(wav, feats, np.random.default_rng([seed, i]))
    mels.append(c)
    spk.append(np.full(len(c), sp, np.int32))
    grp.append(np.full(len(c), i, np.int32))
  if not sum(len(m) for m in mels):
    raise ValueError(f"SimVowels utterances of {sv_config.seconds} s are shorter than one 64-frame crop; "
                     "use data.simvowels.seconds >= 1.1")
  names = [f"SP{i + 1}" for i in range(len(simvowels._ALL_V))]
  return Crops(np.concatenate(mels), np.concatenate(spk), np.concatenate(grp), names,
               f"SimVowels {sv_config.name} ({split})")


def load_crops(config, split: str) -> Crops:
  """All crops of one split ('train', 'validation', 'test'; a corpus also accepts 'all')."""
  feats = feature_spec(config)
  if config.data.dir:
    c = config.data.corpus
    cc = speech_corpus.load_crops_cached(config.data.dir, feats, split, c.holdout_every, config.seed,
                                         c.max_files_per_speaker)
    return Crops(cc.mel, cc.speaker, cc.file, cc.speakers, f"corpus {config.data.dir} ({split})")
  if split == "all":
    split = "test"
  return _simvowels_crops(_simvowels_params(config), paths.resolve_data_dir(config.data.cache_dir), split, feats,
                          config.seed)


def make_dataset(config, split: str, *, process_index: int = 0, process_count: int = 1):
  """Unbatched tf.data source of {'mel': [64, 80] float32, 'speaker': int32}."""
  from decompjax.input_pipeline import tf_on_cpu_only
  tf = tf_on_cpu_only()
  crops = load_crops(config, split)
  if not len(crops.mel):
    raise ValueError(f"{crops.source} has no crops (is the split empty? corpus validation needs speakers "
                     f"with >= data.corpus.holdout_every files)")
  sl = slice(process_index, None, process_count)
  return tf.data.Dataset.from_tensor_slices({"mel": crops.mel[sl], "speaker": crops.speaker[sl]})
