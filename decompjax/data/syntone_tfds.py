"""TFDS builder `syntone`: the SynTone grid generated locally (no downloads) into a data_dir, one config per grid.

Each SynToneGrid maps to a BuilderConfig named `grid_<fingerprint>` (description = the grid fields), so different grids
never collide in one data_dir. Splits 'train' / 'validation' follow the original sklearn split (split_indices).
Examples: {'waveform' float32 [T], 'factors' int32 [3] (waveform, freq_idx, amp_idx), 'factor_values' float32 [3]
(waveform idx, Hz, amplitude), 'index' int64 (position in the original ordering)}. Mels are computed on device
(decompjax.audio.mel), not stored.

TFDS writes into an `incomplete.*` directory and renames it only after every shard and dataset_info.json are
written, so a failed generation never reads back as a prepared dataset. Opening a prepared dataset checks the
record checksums of all its shards once (decompjax/data/shard_check.py), so a damaged file is one clear error
before a run writes anything. Example order is TFDS's deterministic key-hash order (same every build); the
trainer shuffles.
"""
from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from etils import epath

from decompjax import fileio
from decompjax.data import shard_check, syntone, tfds_local
from decompjax.errors import DataError, MissingInputError

_TFRECORD_OVERHEAD = 16  # per record: 8-byte length + 4-byte length crc + 4-byte data crc
SPLITS = ("train", "validation")


def _hide_gpus_from_tf() -> None:
  # tf.data only feeds host numpy; TF must not grab accelerator memory that JAX needs.
  try:
    tf.config.set_visible_devices([], "GPU")
  except (RuntimeError, ValueError):  # already initialised, or no such device type
    pass


_hide_gpus_from_tf()


class SynToneConfig(tfds.core.BuilderConfig):
  """A BuilderConfig carrying the grid; name = grid fingerprint, description = the grid fields."""

  def __init__(self, grid: syntone.SynToneGrid, val_fraction: float = 0.2, split_seed: int = 42):
    self.grid = grid
    self.val_fraction = val_fraction
    self.split_seed = split_seed
    fields = dict(grid.to_dict(), val_fraction=val_fraction, split_seed=split_seed)
    name = config_name(grid, val_fraction, split_seed)
    super().__init__(name=name, version="1.0.0", description=json.dumps(fields, sort_keys=True))


def config_name(grid: syntone.SynToneGrid, val_fraction: float = 0.2, split_seed: int = 42) -> str:
  name = f"grid_{grid.fingerprint()}"
  if (val_fraction, split_seed) != (0.2, 42):  # non-default splits get their own directory
    name += f"_v{str(val_fraction).replace('.', 'p')}_s{split_seed}"
  return name


class Syntone(tfds_local.LocallyGenerated, tfds.core.GeneratorBasedBuilder):
  """SynTone (Brima et al., ICLR 2024 Tiny Papers): 4 waveforms x frequencies x amplitudes, generated locally."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Local generator matching yusufbrima/SynTone create.py ordering and defaults."}
  BUILDER_CONFIGS = [SynToneConfig(syntone.SynToneGrid())]


  def generation_message(self) -> str:
    grid = self.builder_config.grid
    size_mb = grid.num_examples * (4 * grid.num_samples + 64) / 1e6  # float32 clips + per-record framing
    return (f"generating SynTone grid {grid.fingerprint()} ({grid.num_examples} clips, about {size_mb:,.0f} MB) "
            f"into {self.data_dir} ...")

  def _info(self) -> tfds.core.DatasetInfo:
    length = self.builder_config.grid.num_samples
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "waveform": tfds.features.Tensor(shape=(length,), dtype=np.float32),
            "factors": tfds.features.Tensor(shape=(3,), dtype=np.int32),
            "factor_values": tfds.features.Tensor(shape=(3,), dtype=np.float32),
            "index": tfds.features.Scalar(dtype=np.int64),
        }),
        homepage="https://github.com/yusufbrima/SynTone",
        metadata=tfds.core.MetadataDict(grid=self.builder_config.grid.to_dict(),
                                        factor_names=list(syntone.FACTOR_NAMES), waveforms=list(syntone.WAVEFORMS)),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated locally: nothing is downloaded
    cfg = self.builder_config
    train, val = syntone.split_indices(cfg.grid.num_examples, cfg.val_fraction, cfg.split_seed)
    return {"train": self._generate_examples(train), "validation": self._generate_examples(val)}

  def _generate_examples(self, indices: np.ndarray):
    grid = self.builder_config.grid
    indices = np.sort(indices)
    for start in range(0, indices.size, 256):
      idx = indices[start:start + 256]
      waves = syntone.synthesize(grid, idx)
      facs = syntone.factor_indices(grid, idx)
      vals = syntone.factor_values(grid, idx)
      for j, i in enumerate(idx):
        yield int(i), {"waveform": waves[j], "factors": facs[j], "factor_values": vals[j], "index": np.int64(i)}


def _builder(grid: syntone.SynToneGrid, data_dir, val_fraction: float, split_seed: int) -> Syntone:
  if not isinstance(grid, syntone.SynToneGrid):
    raise ValueError(f"grid must be a SynToneGrid, got {type(grid).__name__}")
  config = tfds_local.config_for(Syntone, SynToneConfig(grid, val_fraction, split_seed))
  return Syntone(config=config, data_dir=str(data_dir), file_format="tfrecord")


def build(grid: syntone.SynToneGrid, data_dir, *, val_fraction: float = 0.2, split_seed: int = 42) -> Syntone:
  """Generates the grid into data_dir unless already prepared; returns the builder. Single-writer: on multiple hosts
  call it on one process (or before launch) and let the others `load`."""
  builder = _builder(grid, data_dir, val_fraction, split_seed)
  if not builder.is_prepared():
    fileio.makedirs(data_dir)  # local or gs:// (TFDS writes there itself)
    tfds_local.prepare(builder)
  return builder


def is_prepared(grid: syntone.SynToneGrid, data_dir, *, val_fraction: float = 0.2, split_seed: int = 42) -> bool:
  """Whether data_dir holds the finished dataset of `grid` (what a host checks after process 0 built it)."""
  return fileio.isdir(data_dir) and _builder(grid, data_dir, val_fraction, split_seed).is_prepared()


def _check_split_files(builder: Syntone, split: str) -> None:
  """Cheap integrity check before reading: shard files exist and have the sizes dataset_info implies."""
  info = builder.info.splits[split]
  if info.num_examples == 0:
    raise DataError(f"syntone/{builder.builder_config.name} split '{split}' is empty (0 examples)")
  missing = [epath.Path(f).name for f in info.filepaths if not fileio.isfile(f)]
  if missing:
    raise DataError(f"syntone/{builder.builder_config.name} split '{split}' is corrupt: missing shard file(s) "
                    f"{missing} in {builder.data_dir}; delete that directory and rebuild")
  if fileio.is_remote(os.fspath(builder.data_dir)):
    return  # the size check below reads local files; TF checks each record's CRC while streaming it
  files = [pathlib.Path(str(f)) for f in info.filepaths]
  expected = info.num_bytes + _TFRECORD_OVERHEAD * info.num_examples
  actual = sum(f.stat().st_size for f in files)
  if actual != expected:
    bad = [f.name for f, n in zip(files, info.shard_lengths) if not shard_check.records_intact(f, n)]
    raise DataError(f"syntone/{builder.builder_config.name} split '{split}' is corrupt: shard files hold {actual} "
                    f"bytes but dataset_info expects {expected}; truncated or unreadable file(s): "
                    f"{bad or [f.name for f in files]} in {builder.data_dir}; delete that directory and rebuild")


def load(grid: syntone.SynToneGrid, data_dir, split: str, *, process_index: int = 0, process_count: int = 1,
         generate: bool = False, val_fraction: float = 0.2, split_seed: int = 42,
         drop_remainder: bool = False) -> tf.data.Dataset:
  """Unbatched tf.data.Dataset of example dicts for `split`, this host's 1/process_count slice (deterministic order,
  no shuffling: the trainer shuffles). generate=True builds the dataset first if missing. drop_remainder=True: every
  host gets the same number of examples (the trainer's choice; at most process_count - 1 are dropped)."""
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
  if not 0 <= process_index < process_count:
    raise ValueError(f"process_index {process_index} must be in [0, process_count={process_count})")
  if generate:
    builder = build(grid, data_dir, val_fraction=val_fraction, split_seed=split_seed)
  else:
    if not fileio.isdir(data_dir):
      raise MissingInputError(f"SynTone data_dir {data_dir} does not exist; generate it first with "
                              f"decompjax.data.syntone_tfds.build(grid, data_dir) or load(..., generate=True)")
    builder = _builder(grid, data_dir, val_fraction, split_seed)
    if not builder.is_prepared():
      raise MissingInputError(f"no prepared SynTone dataset for grid {grid} (config {builder.builder_config.name}) "
                              f"in {data_dir}; generate it first with build(grid, data_dir) or load(..., generate=True)")
  _check_split_files(builder, split)
  shards = tfds_local.verified_shards(builder)  # all splits: a damaged validation shard fails before training
  if process_count > 1 and builder.info.splits[split].num_examples < process_count:
    raise DataError(f"split '{split}' has {builder.info.splits[split].num_examples} examples, fewer than the "
                    f"{process_count} processes reading it")
  host_split = tfds_local.host_split(split, process_index, process_count, drop_remainder)
  read_config = tfds.ReadConfig(shuffle_seed=0, interleave_cycle_length=1)  # 1 = files read in order: deterministic
  return tfds_local.tie_to_shards(
      builder.as_dataset(split=host_split, shuffle_files=False, read_config=read_config), shards)
