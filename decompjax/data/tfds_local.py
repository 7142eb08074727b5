"""What our TFDS builders share: data generated on this machine, described as such, under any config name.

TFDS is written for downloaded datasets: it prints "Downloading and preparing dataset ..." and "... downloaded
and prepared", warns "Using custom data configuration" for every grid that is not the registered default, and
refuses a config object named like a registered one unless it is that very object.
"""
from __future__ import annotations

import logging
import os
import sys

import tensorflow_datasets as tfds
from etils import epath

from decompjax import fileio
from decompjax.data import shard_check


class LocallyGenerated:
  """Mixin (before tfds.core.GeneratorBasedBuilder): one line of our own replaces TFDS's download messages."""

  def generation_message(self) -> str:
    raise NotImplementedError

  def _log_download_bytes(self) -> None:  # TFDS calls it right before generating
    print(self.generation_message(), flush=True)

  def _log_download_done(self) -> None:  # the caller reports the result
    pass

  # TFDS's default code_path probes `importlib_resources.abc` (a backport not installed on Python >= 3.9) for
  # modules inside a package; the builder's own module file is what it would compute anyway.
  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    return epath.Path(sys.modules[cls.__module__].__file__)


def config_for(builder_cls, config):
  """The registered config when `config` has its name (config names encode every field), else `config`."""
  return builder_cls.get_builder_config(name=config.name, version=config.version) or config


def prepare(builder) -> None:
  """Generates the dataset (TFDS writes into incomplete.* and renames when complete: no half-built reads)."""
  tfds.display_progress_bar(sys.stderr.isatty())  # bar frames only on a terminal, never into log files
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      try_download_gcs=False, download_mode=tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS))


class _DropLocalDataNoise(logging.Filter):
  # A custom config is how every non-default grid is named, and a not-yet-generated folder has no
  # dataset_info.json: normal here, not warnings.
  _PREFIXES = ("Using custom data configuration", "Variant folder ")

  def filter(self, record: logging.LogRecord) -> bool:
    return not (record.name == "absl" and str(record.msg).startswith(self._PREFIXES))


def _install_filter() -> None:
  logger = logging.getLogger("absl")
  if not any(isinstance(f, _DropLocalDataNoise) for f in logger.filters):
    logger.addFilter(_DropLocalDataNoise())


_install_filter()


def verified_shards(builder):
  """The shard files of a prepared builder, their record checksums verified once (shard_check); None for a remote
  data_dir (gs://): shard_check reads local files, and TF still checks each record's CRC while streaming it.
  prepare_data runs it on process 0 before the barrier, so the stamp it writes beside the shards is there when
  the other processes open the data: they read it and write nothing."""
  if fileio.is_remote(os.fspath(builder.data_dir)):
    return None
  shards = shard_check.of_builder(builder)
  shard_check.verify(shards)
  return shards


def tie_to_shards(ds, shards):
  """`shard_check.remember` when the shards were verified (a damaged record then names its file)."""
  return ds if shards is None else shard_check.remember(ds, shards)


def host_split(split: str, process_index: int, process_count: int, drop_remainder: bool):
  """This process's slice of a TFDS split (contiguous). drop_remainder=True: every process gets the same number
  of examples (at most process_count - 1 dropped), so every host runs the same steps per epoch."""
  return tfds.split_for_jax_process(split, process_index=process_index, process_count=process_count,
                                    drop_remainder=drop_remainder)
