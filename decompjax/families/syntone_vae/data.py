"""SynTone data for the VAE families: the grid named by config.data.grid, generated once by `prepare_data` and
read by `make_dataset`; `input_spec` gives an example's shapes from the config alone (restoring reads no data)."""
from __future__ import annotations

import jax
import ml_collections
import numpy as np

from decompjax.data import paths, syntone, syntone_tfds, tfds_local
from decompjax.errors import ConfigError


def grid_from_config(config: ml_collections.ConfigDict) -> syntone.SynToneGrid:
  g = config.data.grid
  return syntone.SynToneGrid(
      sample_rate=g.sample_rate, freq_start=g.freq_start, freq_end=g.freq_end if g.freq_end > 0 else None,
      num_freqs=g.num_freqs, amp_start=g.amp_start, amp_end=g.amp_end, num_amps=g.num_amps, seed=g.seed,
      band_limited=g.band_limited, random_phase=g.random_phase)


def input_spec(config) -> dict[str, jax.ShapeDtypeStruct]:
  """One example batch (batch axis 1) as the pipeline yields it: the fields of data/syntone_tfds.py `_info`."""
  n = grid_from_config(config).num_samples
  return {"waveform": jax.ShapeDtypeStruct((1, n), np.float32),
          "factors": jax.ShapeDtypeStruct((1, 3), np.int32),
          "factor_values": jax.ShapeDtypeStruct((1, 3), np.float32),
          "index": jax.ShapeDtypeStruct((1,), np.int64)}


def prepare_data(config) -> None:
  """Generates the grid's TFRecords into config.data.dir unless already there (idempotent). On several processes
  process 0 writes while the others wait, then each checks that it sees the finished grid (a host-local default
  folder fails there, naming itself and config.data.dir)."""
  grid = grid_from_config(config)
  data_dir = paths.resolve_data_dir(config.data.dir)
  paths.prepare_shared(f"SynTone grid {grid.fingerprint()}", data_dir, "data.dir", config.data.dir,
                       build=lambda: tfds_local.verified_shards(syntone_tfds.build(grid, data_dir)),
                       ready=lambda: syntone_tfds.is_prepared(grid, data_dir),
                       barrier=f"syntone_data_{grid.fingerprint()}")


def make_dataset(config, split: str, *, process_index: int = 0, process_count: int = 1):
  """This host's slice of `split` (unbatched, deterministic order; every host the same number of examples). The
  only process generates a missing grid; one of several never does (prepare_data has run on process 0)."""
  grid = grid_from_config(config)
  data_dir = paths.resolve_data_dir(config.data.dir)
  generate = paths.may_generate(process_count)
  if not generate and not syntone_tfds.is_prepared(grid, data_dir):
    raise paths.not_visible(f"SynTone grid {grid.fingerprint()}", data_dir, "data.dir", process_index, process_count)
  return syntone_tfds.load(grid, data_dir, split, process_index=process_index, process_count=process_count,
                           generate=generate, drop_remainder=True)


def dataset_size(config) -> int:
  """N of the beta-TCVAE estimators: model.tc_dataset_size if positive, else the clips in the grid's train split
  (25,600 for the full grid, as the original's `n_data=len(train)`)."""
  if config.model.tc_dataset_size > 0:
    return int(config.model.tc_dataset_size)
  if config.model.tc_dataset_size < 0:
    raise ConfigError(f"model.tc_dataset_size must be >= 0 (0 = from the data), got {config.model.tc_dataset_size}")
  train, _ = syntone.split_indices(grid_from_config(config).num_examples)
  return len(train)
