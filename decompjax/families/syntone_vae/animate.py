"""Animated GIF of original vs reconstruction over a sweep of frequencies (the SynTone original's `animate.py`).

One frame per frequency of the grid (waveform and amplitude fixed), a 2 x 3 panel as the original: rows original /
reconstruction, columns waveform (first 10 ms), |FFT| and the model-input mel. The original row shows the synthesised
clip; the reconstruction row the decoder output (from the encoder mean) and its Griffin-Lim inversion to audio.
matplotlib renders each frame, imageio writes the GIF.
"""
from __future__ import annotations

import os

import numpy as np

from decompjax.audio import griffin_lim
from decompjax.data import syntone
from decompjax.families.syntone_vae import data as sv_data, model as model_lib


def sweep_indices(grid: syntone.SynToneGrid, waveform: int, amp_idx: int, num_frames: int) -> np.ndarray:
  """Flat indices of `num_frames` evenly spaced frequencies (lowest to highest) at one waveform and amplitude."""
  if not 0 <= waveform < syntone.NUM_WAVEFORMS or not 0 <= amp_idx < grid.num_amps:
    raise ValueError(f"waveform {waveform} / amplitude index {amp_idx} outside the grid "
                     f"({syntone.NUM_WAVEFORMS} waveforms, {grid.num_amps} amplitudes)")
  if num_frames < 1:
    raise ValueError(f"num_frames must be >= 1, got {num_frames}")
  freqs = np.unique(np.linspace(0, grid.num_freqs - 1, num_frames).round().astype(int))
  return np.array([syntone.flat_index(grid, waveform, int(f), amp_idx) for f in freqs])


def reconstruct(config, vae_params, waveforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """-> (model input, reconstruction from the encoder mean), both [N, n_mels, frames]: the evaluation's jitted
  encoder (parameters as arguments, sharded over the mesh the parameters live on)."""
  from decompjax.families.syntone_vae import evaluate
  x, _, _, x_hat = evaluate.encode_dataset(config, vae_params, np.asarray(waveforms), len(waveforms))
  return x[..., 0], x_hat[..., 0]


def _spectrum(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
  mag = np.abs(np.fft.rfft(audio)) / max(len(audio), 1)
  return np.fft.rfftfreq(len(audio), 1.0 / sr), mag


def _render(rows, title: str, sr: int, dpi: int) -> np.ndarray:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(2, 3, figsize=(9, 4.5), dpi=dpi)
  show = int(0.01 * sr)
  for r, (label, audio, mel) in enumerate(rows):
    t = np.arange(show) / sr * 1000.0
    axes[r, 0].plot(t, audio[:show], lw=0.8)
    axes[r, 0].set_title(f"{label}: waveform", fontsize=8)
    axes[r, 0].set_xlabel("ms", fontsize=7)
    f, mag = _spectrum(audio, sr)
    axes[r, 1].plot(f, mag, lw=0.6)
    axes[r, 1].set_title(f"{label}: |FFT|", fontsize=8)
    axes[r, 1].set_xlabel("Hz", fontsize=7)
    axes[r, 2].imshow(mel, origin="lower", aspect="auto", vmin=0.0, vmax=1.0, cmap="magma")
    axes[r, 2].set_title(f"{label}: model-input mel", fontsize=8)
    for ax in axes[r]:
      ax.tick_params(labelsize=6)
  fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  fig.canvas.draw()
  frame = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
  plt.close(fig)
  return frame


def animate_sweep(config, vae_params, path: str, *, waveform: int = 0, amp_idx: int | None = None,
                  num_frames: int = 12, fps: float = 3.0, griffin_lim_iters: int | None = None, dpi: int = 60,
                  title: str = "") -> str:
  """Writes the GIF to `path` and returns it. Amplitude defaults to the loudest level of the grid."""
  import imageio.v2 as imageio

  grid = sv_data.grid_from_config(config)
  amp_idx = grid.num_amps - 1 if amp_idx is None else amp_idx
  idx = sweep_indices(grid, waveform, amp_idx, num_frames)
  waves = syntone.synthesize(grid, idx)
  x, x_hat = reconstruct(config, vae_params, waves)
  spec = model_lib.mel_spec(config)
  n_iter = griffin_lim_iters or config.eval.griffin_lim_iters
  values = syntone.factor_values(grid, idx)
  frames = []
  for k in range(len(idx)):
    recon_audio = griffin_lim.mel_to_audio(x_hat[k], spec, mode=config.audio.frontend, n_iter=n_iter,
                                           length=grid.num_samples)
    head = f"{title}  " if title else ""
    caption = (f"{head}{syntone.WAVEFORMS[int(values[k, 0])]} {values[k, 1]:.0f} Hz, amplitude {values[k, 2]:.2f}"
               f"  ({config.audio.frontend} front end)")
    frames.append(_render([("original", waves[k], x[k]), ("reconstruction", recon_audio, x_hat[k])],
                          caption, grid.sample_rate, dpi))
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  imageio.mimsave(path, frames, duration=1000.0 / fps, loop=0)
  return path
