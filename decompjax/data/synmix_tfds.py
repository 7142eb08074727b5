"""TFDS builder `synmix`: SynMix voice + music mixtures generated locally (no download) into a data_dir.

Every generator field and split size is part of the builder-config name (`synmix_<fingerprint>_n<train>_<val>_
<test>`), so different settings never share a cache. Examples: {'mixture', 'voice', 'music': float32 [length]
(each clip keeps its own length, 2-4 s by default), 'snr_db': float32, 'index': int64}. Splits train /
validation / test. Opening a prepared dataset checks the record checksums of its shards once
(decompjax/data/shard_check.py). TFDS writes into `incomplete.*` and renames when complete: a failed generation
never reads back as prepared.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from decompjax import fileio
from decompjax.data import synmix, tfds_local
from decompjax.errors import DataError, MissingInputError


@dataclasses.dataclass(eq=False)
class SynMixConfig(tfds.core.BuilderConfig):
  spec: synmix.SynMixSpec = synmix.SynMixSpec()
  num_train: int = 1000
  num_validation: int = 100
  num_test: int = 100

  @property
  def sizes(self) -> dict[str, int]:
    return {"train": self.num_train, "validation": self.num_validation, "test": self.num_test}


def make_config(spec: synmix.SynMixSpec, num_train: int = 1000, num_validation: int = 100,
                num_test: int = 100) -> SynMixConfig:
  for name, n in (("num_train", num_train), ("num_validation", num_validation), ("num_test", num_test)):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
      raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
  name = f"synmix_{spec.fingerprint()}_n{num_train}_{num_validation}_{num_test}"
  return SynMixConfig(name=name, version="1.0.0", description=str(dataclasses.asdict(spec)), spec=spec,
                      num_train=int(num_train), num_validation=int(num_validation), num_test=int(num_test))


class Synmix(tfds_local.LocallyGenerated, tfds.core.GeneratorBasedBuilder):
  """SynMix: procedural voice (glottal source-filter) + procedural music (tones, chords, bass, drums)."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [make_config(synmix.SynMixSpec())]


  def generation_message(self) -> str:
    c = self.builder_config
    total = sum(c.sizes.values())
    size_mb = total * 3 * 4 * c.spec.sample_rate * (c.spec.min_seconds + c.spec.max_seconds) / 2 / 1e6
    return (f"generating SynMix {c.name} ({total} mixtures of {c.spec.min_seconds:g}-{c.spec.max_seconds:g} s, "
            f"about {size_mb:,.0f} MB) into {self.data_dir} ...")

  def _info(self) -> tfds.core.DatasetInfo:
    audio = tfds.features.Tensor(shape=(None,), dtype=np.float32)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "mixture": audio, "voice": audio, "music": audio,
            "snr_db": tfds.features.Scalar(dtype=np.float32),
            "index": tfds.features.Scalar(dtype=np.int64),
        }),
        metadata=tfds.core.MetadataDict(spec=dataclasses.asdict(self.builder_config.spec)),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated locally: nothing is downloaded
    return {split: self._generate_examples(split, n) for split, n in self.builder_config.sizes.items()}

  def _generate_examples(self, split: str, num: int):
    spec = self.builder_config.spec
    for i in range(num):
      c = synmix.clip(spec, split, i)
      yield i, {"mixture": c.mixture, "voice": c.voice, "music": c.music, "snr_db": np.float32(c.snr_db),
                "index": np.int64(i)}


def _builder(config: SynMixConfig, data_dir: str) -> Synmix:
  return Synmix(config=tfds_local.config_for(Synmix, config), data_dir=str(data_dir))


def build(config: SynMixConfig, data_dir: str) -> Synmix:
  """Generates the dataset into data_dir unless already prepared (single writer); returns the builder."""
  b = _builder(config, data_dir)
  if not b.is_prepared():
    fileio.makedirs(data_dir)  # local or gs:// (TFDS writes there itself)
    tfds_local.prepare(b)
  return b


def is_prepared(config: SynMixConfig, data_dir: str) -> bool:
  """Whether data_dir holds the finished set (what a host checks after process 0 generated it)."""
  return fileio.isdir(data_dir) and _builder(config, data_dir).is_prepared()


def load(config: SynMixConfig, data_dir: str, split: str, *, process_index: int = 0, process_count: int = 1,
         generate: bool = False, map_fn=None, drop_remainder: bool = False) -> tf.data.Dataset:
  """Unbatched, unshuffled examples of `split`, this host's 1/process_count share, passed through `map_fn`
  when given (deterministically; the result still names a damaged shard). generate=False: a dataset that is not
  prepared is a MissingInputError (run `decompjax data prepare --config=...`). drop_remainder=True: every host
  gets the same number of examples (at most process_count - 1 dropped)."""
  if split not in synmix.SPLITS:
    raise ValueError(f"unknown SynMix split {split!r}; expected one of {synmix.SPLITS}")
  if generate:
    b = build(config, data_dir)
  else:
    b = _builder(config, data_dir)
    if not b.is_prepared():
      raise MissingInputError(f"SynMix {config.name} is not prepared under {data_dir}; generate it first with "
                              "`decompjax data prepare --config=...`")
  shards = tfds_local.verified_shards(b)
  n = b.info.splits[split].num_examples
  if n < process_count:
    raise DataError(f"SynMix split '{split}' has {n} examples, fewer than the {process_count} processes reading it")
  host_split = tfds_local.host_split(split, process_index, process_count, drop_remainder)
  read_config = tfds.ReadConfig(shuffle_seed=0, interleave_cycle_length=1)  # files in order: deterministic
  ds = b.as_dataset(split=host_split, shuffle_files=False, read_config=read_config)
  if map_fn is not None:
    ds = ds.map(map_fn, num_parallel_calls=1, deterministic=True)
  return tfds_local.tie_to_shards(ds, shards)
