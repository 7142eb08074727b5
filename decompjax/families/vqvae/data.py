"""The UCR set a VQ-VAE run trains on: loading, the tf.data source, and the input spec from the config.

A UCR set defines the series length (the longest series over TRAIN and TEST) and the channel count, so the
config carries them as data.length / data.channels, 0 meaning "from the data": `resolve_config` fills them from
the loaded set before the trainer saves config.json, and from then on `input_spec` needs no data. A config
that still holds 0 (built in Python and never resolved) is resolved on the fly: input_spec then loads the set.
"""
from __future__ import annotations

import jax
import numpy as np

from decompjax.data import ucr
from decompjax.errors import ConfigError


def load_data(config) -> ucr.UCRData:
  d = config.data
  return ucr.load_ucr(ucr.resolve_dir(d.ucr_dir), d.name, d.standardize, d.nan_policy)


def make_dataset(config, split, *, process_index=0, process_count=1):
  """train -> official TRAIN; validation/test -> official TEST (the original validates on TEST too)."""
  split = {"validation": "test", "eval": "test"}.get(split, split)
  return ucr.make_dataset(load_data(config), split, process_index=process_index, process_count=process_count)


def _check_against(config, data: ucr.UCRData) -> None:
  for field, value in (("length", data.length), ("channels", data.channels)):
    given = config.data[field]
    if given and given != value:
      raise ConfigError(f"config field 'data.{field}' = {given}: UCR set {data.name!r} has {field} {value} "
                        f"(set it to {value}, or 0 to take it from the data)")


def resolve_config(config) -> None:
  """Fills data.length / data.channels when 0 from the UCR set (in place); a set value must match the set."""
  data = load_data(config)
  _check_against(config, data)
  config.data.length, config.data.channels = data.length, data.channels


def series_shape(config) -> tuple[int, int]:
  """(length, channels) of one series: from the config, or from the data where a field is 0."""
  length, channels = config.data.length, config.data.channels
  if length and channels:
    return length, channels
  data = load_data(config)
  _check_against(config, data)
  return data.length, data.channels


def input_spec(config) -> dict[str, jax.ShapeDtypeStruct]:
  """One example batch as make_dataset yields it: x (1, L, C) float32, label (1,) int32."""
  length, channels = series_shape(config)
  return {"x": jax.ShapeDtypeStruct((1, length, channels), np.float32),
          "label": jax.ShapeDtypeStruct((1,), np.int32)}
