"""What the SynTone VAE families (beta-VAE, beta-TCVAE, FactorVAE) share: data, front end and model.

Batches from the pipeline hold raw waveforms; the mel front end runs inside the jitted step
(`model_input`), so the host only decodes TFRecords.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from decompjax import sharding
from decompjax.audio import mel as mel_lib
from decompjax.data import paths, syntone, syntone_tfds
from decompjax.families.base import TrainState
from decompjax.models.vae_deep import VAEDeep
from decompjax.optim import make_optimizer

FACTOR_NAMES = ("waveform", "frequency", "amplitude")


def grid_from_config(config: ml_collections.ConfigDict) -> syntone.SynToneGrid:
  g = config.data.grid
  return syntone.SynToneGrid(
      sample_rate=g.sample_rate, freq_start=g.freq_start, freq_end=g.freq_end if g.freq_end > 0 else None,
      num_freqs=g.num_freqs, amp_start=g.amp_start, amp_end=g.amp_end, num_amps=g.num_amps, seed=g.seed,
      band_limited=g.band_limited, random_phase=g.random_phase)


def mel_spec(config: ml_collections.ConfigDict) -> mel_lib.MelSpec:
  a = config.audio
  return mel_lib.MelSpec(sample_rate=config.data.grid.sample_rate, n_fft=a.n_fft, hop_length=a.hop, n_mels=a.n_mels,
                         fmin=a.fmin, fmax=a.fmax if a.fmax > 0 else None)


def make_dataset(config, split: str, *, process_index: int = 0, process_count: int = 1):
  grid = grid_from_config(config)
  data_dir = paths.resolve_data_dir(config.data.dir)
  # Generated on first use (locally, deterministic); later runs read the prepared TFRecords. On several
  # hosts, process 0 generates while the others wait, so no two writers race on a shared directory.
  if process_count > 1:
    from jax.experimental import multihost_utils
    if process_index == 0:
      syntone_tfds.build(grid, data_dir)
    multihost_utils.sync_global_devices(f"syntone_data_{grid.fingerprint()}")
  return syntone_tfds.load(grid, data_dir, split, process_index=process_index, process_count=process_count,
                           generate=process_count == 1)


def model_input(config, waveforms: jax.Array) -> jax.Array:
  """[B, T] waveforms -> [B, n_mels, frames, 1] model input in [0, 1] (front end chosen by config.audio.frontend)."""
  spec, mode = mel_spec(config), config.audio.frontend
  # Per device under the trainer's mesh: XLA would otherwise gather the batch for the FFT (sharding.py).
  return sharding.map_batch_shards(lambda w: mel_lib.frontend(w, spec, mode)[..., None], waveforms)


def input_shape(config) -> tuple[int, int, int]:
  return mel_spec(config).output_shape(grid_from_config(config).num_samples) + (1,)


def make_model(config) -> VAEDeep:
  return VAEDeep(latent_dim=config.model.latent_dim, input_shape=input_shape(config))


def init_vae_params(config, rng, example_batch):
  model = make_model(config)
  x = jnp.zeros((1,) + input_shape(config), jnp.float32)
  return model.init(rng, x, jax.random.key(0))["params"]


def init_vae_state(config, rng, example_batch) -> TrainState:
  """VAEDeep parameters and the `config.optim` optimizer state (families with one optimizer)."""
  params = init_vae_params(config, rng, example_batch)
  return TrainState.create(params, make_optimizer(config.optim).init(params))
