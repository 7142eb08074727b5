"""TFDS builder for SimVowels (generated locally, nothing downloaded), shared by Autodecompose and DecVAE.

Every generator parameter is part of the builder-config name, so different settings never share a cache.
Examples: {'audio': [L] float32, 'vowel': [segments] int32, 'speaker': int32 (global id 0..19), 'v': float32}.
Opening a prepared dataset checks the record checksums of all its shards once (decompjax/data/shard_check.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from decompjax import fileio, input_pipeline
from decompjax.data import simvowels, tfds_local
from decompjax.errors import MissingInputError


@dataclasses.dataclass(eq=False)
class SimVowelsConfig(tfds.core.BuilderConfig):
  excitation: str = "pulse"
  seconds: float = 4.0
  snr_db: float = 15.0
  seed: int = 0
  num_train: int = 4000        # upstream sizes: 4000 / 500 / 300
  num_validation: int = 500
  num_test: int = 300

  @property
  def spec(self) -> simvowels.SimVowelsSpec:
    return simvowels.SimVowelsSpec(excitation=self.excitation, seconds=self.seconds, snr_db=self.snr_db,
                                   seed=self.seed)


def make_config(excitation: str = "pulse", seconds: float = 4.0, snr_db: float = 15.0, seed: int = 0,
                num_train: int = 4000, num_validation: int = 500, num_test: int = 300) -> SimVowelsConfig:
  simvowels.SimVowelsSpec(excitation, seconds, snr_db, seed)  # validates
  name = (f"{excitation}_{seconds:g}s_snr{snr_db:g}_seed{seed}_n{num_train}-{num_validation}-{num_test}"
          .replace(".", "p").replace("-", "_"))
  return SimVowelsConfig(name=name, excitation=excitation, seconds=seconds, snr_db=snr_db, seed=seed,
                         num_train=num_train, num_validation=num_validation, num_test=num_test)


class SimVowels(tfds_local.LocallyGenerated, tfds.core.GeneratorBasedBuilder):
  """Simulated vowels: 5 vowels, 20 discrete speakers split 10/5/5 (decvae.md §3.1)."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [make_config()]


  def generation_message(self) -> str:
    c = self.builder_config
    return (f"generating SimVowels {c.name} ({c.num_train + c.num_validation + c.num_test} utterances of "
            f"{c.seconds:g} s) into {self.data_dir} ...")

  def _info(self) -> tfds.core.DatasetInfo:
    c = self.builder_config
    length = int(round(c.seconds * simvowels.SAMPLE_RATE))
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "audio": tfds.features.Tensor(shape=(length,), dtype=np.float32),
            "vowel": tfds.features.Tensor(shape=(c.spec.segments,), dtype=np.int32),
            "speaker": tfds.features.Scalar(dtype=np.int32),
            "v": tfds.features.Scalar(dtype=np.float32),
        }),
        supervised_keys=None,
    )

  def _split_generators(self, dl_manager):
    c = self.builder_config
    sizes = {"train": c.num_train, "validation": c.num_validation, "test": c.num_test}
    return {split: self._generate_examples(split, n) for split, n in sizes.items() if n > 0}

  def _generate_examples(self, split: str, num: int):
    data = simvowels.generate(split, num, self.builder_config.spec)
    for i in range(num):
      yield i, {k: data[k][i] for k in ("audio", "vowel", "speaker", "v")}


def _builder(config: SimVowelsConfig, data_dir: str) -> SimVowels:
  return SimVowels(config=tfds_local.config_for(SimVowels, config), data_dir=data_dir)


def builder(config: SimVowelsConfig, data_dir: str, *, generate: bool = True) -> SimVowels:
  """Returns the builder for `config` under `data_dir`, generating the data first if it is not there (once).
  generate=False: missing data is an error instead (several hosts: only one generates, the others read)."""
  b = _builder(config, data_dir)
  if not b.is_prepared():
    if not generate:
      raise MissingInputError(f"SimVowels {config.name} is not prepared under {data_dir}; generate it first "
                              "(`decompjax data prepare --config=...`, or one process of the run)")
    fileio.makedirs(data_dir)  # local or gs:// (TFDS writes there itself)
    tfds_local.prepare(b)
  return b


def is_prepared(config: SimVowelsConfig, data_dir: str) -> bool:
  """Whether data_dir holds the finished set (what a host checks after process 0 generated it)."""
  return fileio.isdir(data_dir) and _builder(config, data_dir).is_prepared()


def load(config: SimVowelsConfig, data_dir: str, split: str, *, process_index: int = 0,
         process_count: int = 1, generate: bool = True, drop_remainder: bool = False) -> tf.data.Dataset:
  """Unbatched, unshuffled examples of one split; each host reads its own 1/process_count share (a contiguous
  slice; drop_remainder=True: the same number on every host, at most process_count - 1 dropped)."""
  if split not in ("train", "validation", "test"):
    raise ValueError(f"unknown SimVowels split {split!r}")
  b = builder(config, data_dir, generate=generate)
  shards = tfds_local.verified_shards(b)
  host_split = tfds_local.host_split(split, process_index, process_count, drop_remainder)
  return tfds_local.tie_to_shards(b.as_dataset(split=host_split, shuffle_files=False), shards)


def load_numpy(config: SimVowelsConfig, data_dir: str, split: str, *, generate: bool = True,
               process_index: int = 0, process_count: int = 1) -> dict[str, np.ndarray]:
  """A split (or this host's share of it, as `load`) as stacked numpy arrays (small enough for the probe and the
  mel front end); a damaged record is a clear user error."""
  return input_pipeline.all_examples(load(config, data_dir, split, generate=generate, process_index=process_index,
                                          process_count=process_count))
