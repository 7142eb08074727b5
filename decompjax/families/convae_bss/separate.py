"""Separating whole audio files with a trained ConVAE-BSS model: voice and music at the input's rate and length.

The model sees fixed 16 kHz crops (config.data.seconds long). A file of any length, rate and 1-2 channels is:
  1. read and checked (missing, 0-byte, unreadable, sample-less or >2-channel files are errors naming the file);
  2. down-mixed to mono (the mean of its channels: the model is mono, so the outputs are mono) and resampled to
     16 kHz (polyphase, exact rational ratio);
  3. cut into crop-length windows with 50% overlap, zero-padded by half a window at both ends, so that every
     sample lies in exactly two windows; each window is separated by `model.separate_waveforms` (batched, jitted,
     with a progress bar), weighted by a periodic Hann window and overlap-added. The periodic Hann window at 50%
     overlap sums to exactly 1 (sin^2 + cos^2), so the cross-fade neither boosts nor dips, and because the
     model's soft masks sum to 1 in every window, voice + music reconstructs the down-mixed mixture;
  4. resampled back to the input rate and trimmed to the input length.
The input's level is kept (no normalisation in or out; the model standardises its own input, so the level does not
change the masks), and the WAVs are written unscaled, so voice + music adds back up to the mono mixture.
"""
from __future__ import annotations

import math
import os
from typing import Callable

import numpy as np

from decompjax import fileio
from decompjax.audio import resample as audio_resample
from decompjax.audio import wav
from decompjax.errors import DataError, MissingInputError, write_error

MODEL_RATE = 16000
SOURCES = ("voice", "music")  # source k of the model's output, in order

# windows [B, W] float32 -> separated [B, 2, W]
WindowFn = Callable[[np.ndarray], np.ndarray]


def check_input(path: str) -> tuple[int, int, int]:
  """-> (frames, channels, sample rate) from the file's header; every unusable file is one clear error."""
  import soundfile as sf
  if not os.path.exists(path):
    raise MissingInputError(f"input audio {path} does not exist")
  if os.path.isdir(path):
    raise DataError(f"input audio {path} is a folder, not an audio file")
  if os.path.getsize(path) == 0:
    raise DataError(f"input audio {path} is empty (0 bytes)")
  try:
    info = sf.info(path)
  except Exception as e:  # libsndfile raises several types for corrupt or mislabelled files
    raise DataError(f"input audio {path} cannot be read as audio ({e})") from None
  if info.channels > 2:
    raise DataError(f"input audio {path} has {info.channels} channels; separate takes mono or stereo files")
  if info.frames == 0:
    raise DataError(f"input audio {path} holds no samples")
  return int(info.frames), int(info.channels), int(info.samplerate)


def read_input(path: str) -> tuple[np.ndarray, int]:
  """-> (samples [T, C] float32 with C in {1, 2}, sample rate) as stored; errors as `check_input` (and for
  non-finite samples)."""
  check_input(path)
  return wav.read_audio_channels(path)


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
  """Polyphase resampling along the last axis by the exact ratio rate_out / rate_in (audio.resample)."""
  return audio_resample.resample(np.asarray(x, np.float32), rate_in, rate_out, axis=-1)


def crossfade_window(length: int) -> np.ndarray:
  """Periodic Hann of even `length`: w[n] + w[n + length/2] = 1, so 50%-overlapped copies sum to 1."""
  if length < 2 or length % 2:
    raise ValueError(f"the separation window must have an even length >= 2, got {length}")
  return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)).astype(np.float32)


def num_windows(length: int, window: int) -> int:
  """Windows (hop = window/2) that cover `length` samples padded by half a window at the start."""
  return math.ceil(length / (window // 2)) + 1


def overlap_add_separate(mixture: np.ndarray, window_fn: WindowFn, window: int, *, batch_size: int = 8,
                         progress: bool | None = None, desc: str = "separate") -> np.ndarray:
  """mixture [T] -> [S, T]: window_fn on every 50%-overlapped window, Hann cross-faded and overlap-added.

  Windows go to window_fn in batches of exactly `batch_size` (the last batch zero-padded), so a jitted
  window_fn compiles once. progress: a tqdm bar over batches (None: only on a terminal)."""
  from tqdm.auto import tqdm
  mixture = np.asarray(mixture, np.float32)
  length, hop = mixture.shape[0], window // 2
  fade = crossfade_window(window)
  n = num_windows(length, window)
  padded = np.zeros(hop * (n + 1), np.float32)
  padded[hop:hop + length] = mixture
  starts = np.arange(n) * hop
  out = None
  batches = range(0, n, batch_size)
  for b in tqdm(batches, desc=desc, unit="batch", disable=(None if progress is None else not progress),
                leave=False):
    idx = starts[b:b + batch_size]
    chunk = np.zeros((batch_size, window), np.float32)
    chunk[:len(idx)] = np.stack([padded[s:s + window] for s in idx])
    est = np.asarray(window_fn(chunk), np.float32)
    if est.ndim != 3 or est.shape[0] != batch_size or est.shape[2] != window:
      raise ValueError(f"window_fn returned shape {est.shape}, expected ({batch_size}, S, {window})")
    if out is None:
      out = np.zeros((est.shape[1], padded.shape[0]), np.float32)
    for j, s in enumerate(idx):
      out[:, s:s + window] += est[j] * fade
  return out[:, hop:hop + length]


def model_window_fn(config, state) -> WindowFn:
  """The trained model as a WindowFn: `model.separate_waveforms` jitted once per config with the parameters as
  arguments, the windows sharded over the mesh the state lives on (padded up to a multiple of its devices)."""
  from decompjax.evaluation import batching
  from decompjax.families.convae_bss import model

  def build():
    return lambda variables, x: model.separate_waveforms(config, variables[0], variables[1], x)

  run = batching.mesh_jit(("convae_bss.separate", batching.config_key(config)), build)
  mesh = batching.state_mesh(state.params)
  variables = batching.replicate((state.params, state.model_state), mesh)
  return lambda windows: batching.map_on_mesh(run, variables, np.asarray(windows, np.float32), len(windows),
                                              mesh=mesh)


def window_length(config) -> int:
  """The model's crop in samples at 16 kHz (config.data.seconds), made even for the 50% hop."""
  n = int(round(float(config.data.seconds) * MODEL_RATE))
  return n - n % 2


def separate_audio(audio: np.ndarray, rate: int, window_fn: WindowFn, window: int, *, batch_size: int = 8,
                   progress: bool | None = None, desc: str = "separate") -> dict[str, np.ndarray]:
  """audio [T] or [T, C] at `rate` -> {'voice': [T], 'music': [T]} mono at `rate` (see the module docstring)."""
  audio = np.asarray(audio, np.float32)
  mono = audio.mean(axis=1) if audio.ndim == 2 else audio
  length = mono.shape[0]
  est = overlap_add_separate(resample(mono, rate, MODEL_RATE), window_fn, window, batch_size=batch_size,
                             progress=progress, desc=desc)
  est = resample(est, MODEL_RATE, rate)
  if est.shape[1] < length:  # resampling rounds the length; pad the last few samples
    est = np.pad(est, ((0, 0), (0, length - est.shape[1])))
  return {name: est[k, :length] for k, name in enumerate(SOURCES)}


def write_output(path: str, wave: np.ndarray, rate: int, subtype: str) -> str:
  """Writes a mono WAV at the separated level (no peak normalisation: voice + music stays the mixture)."""
  try:
    return wav.write_audio(path, wave, rate, subtype=subtype)
  except OSError as e:
    raise write_error(path, e) from None


def output_subtype(*waves: np.ndarray) -> str:
  """16-bit PCM when nothing would clip, else 32-bit float (keeps every sample)."""
  top = max(float(np.max(np.abs(w))) if w.size else 0.0 for w in waves)
  return "PCM_16" if top <= 1.0 else "FLOAT"


def output_stems(paths) -> list[str]:
  """The output folder name of each input: its file stem, made unique (a.wav and other/a.wav -> a, a.1)."""
  seen, out = set(), []
  for i, path in enumerate(paths):
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in seen:
      stem = f"{stem}.{i}"
    seen.add(stem)
    out.append(stem)
  return out


def separate_files(paths, out_dir: str, window_fn: WindowFn, window: int, *, batch_size: int = 8,
                   progress: bool | None = None) -> list[dict[str, str]]:
  """Separates each file into <out_dir>/<stem>/voice.wav and music.wav; every input is checked before any is
  separated. On several processes every one separates (the model runs sharded over all of them) and process 0
  writes. -> [{'input', 'voice', 'music', 'sample_rate', 'channels', 'seconds'}] in input order."""
  from decompjax import distributed
  paths = list(paths)
  for path in paths:
    check_input(path)
  results = []
  for path, stem in zip(paths, output_stems(paths)):
    audio, rate = read_input(path)
    est = separate_audio(audio, rate, window_fn, window, batch_size=batch_size, progress=progress,
                         desc=os.path.basename(path))
    subtype = output_subtype(*est.values())
    entry = {"input": path, "sample_rate": rate, "channels": int(audio.shape[1]),
             "seconds": audio.shape[0] / rate}
    for name, wave in est.items():
      target = fileio.join(out_dir, stem, f"{name}.wav")
      entry[name] = write_output(target, wave, rate, subtype) if distributed.is_writer() else target
    results.append(entry)
  return results
