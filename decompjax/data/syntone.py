"""SynTone generator: a full Cartesian grid of 4 waveforms x frequencies x amplitudes (numpy, deterministic).

Faithful to `yusufbrima/SynTone` `create.py` / `generator.py` by default:
- the grid is looped frequency -> amplitude -> waveform, so index = (fi * num_amps + ai) * 4 + wi;
- waveforms (label = position): sine A*sin(2*pi*f*t), triangle A*sawtooth(2*pi*f*t, 0.5), sawtooth A*sawtooth(2*pi*f*t),
  square A*square(2*pi*f*t) (scipy.signal);
- t = linspace(0, duration, sr * duration) WITH the endpoint, so the effective frequency is f * sr / (sr - 1);
- phase 0, no noise, no band limiting (triangle/saw/square alias above Nyquist; the top 8 kHz sine is degenerate).

Documented deviations, off by default:
- `random_phase=True`: each clip gets a phase drawn once per clip from `seed` (uniform in [0, 2*pi)), independent of
  which subset of clips is synthesised.
- `band_limited=True`: additive (Fourier-series) synthesis that keeps only the harmonics k*f < sr/2, always keeping the
  fundamental (otherwise the Nyquist-frequency clips would be silent). Same waveform shapes and phase convention as the
  scipy functions (sawtooth = -2/pi sum sin(kx)/k, square = 4/pi sum_{k odd} sin(kx)/k, triangle =
  -8/pi^2 sum_{k odd} cos(kx)/k^2); a band-limited square/saw shows Gibbs overshoot (peak up to ~1.09 A).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import tempfile
import zipfile

import numpy as np
from scipy import signal

from decompjax.errors import DataError, MissingInputError

WAVEFORMS = ("sine", "triangle", "sawtooth", "square")
NUM_WAVEFORMS = len(WAVEFORMS)
FACTOR_NAMES = ("waveform", "frequency", "amplitude")
# Bumped whenever synthesis changes, so that a cached dataset named by the fingerprint is never reused stale.
_SYNTH_VERSION = 1
_CHUNK = 256  # clips synthesised at once: 256 x 16000 float64 = 33 MB per temporary


@dataclasses.dataclass(frozen=True)
class SynToneGrid:
  """The factor grid and synthesis options; the defaults are the `create.py` CLI defaults (32,000 clips)."""
  sample_rate: int = 16000
  freq_start: float = 440.0
  freq_end: float | None = None  # None -> sample_rate / 2 (Nyquist), as in create.py
  num_freqs: int = 400
  amp_start: float = 0.1
  amp_end: float = 1.0
  num_amps: int = 20
  duration: float = 1.0  # fixed to 1 s in the original (no CLI flag)
  seed: int = 0  # only used by random_phase
  band_limited: bool = False
  random_phase: bool = False

  def __post_init__(self):
    def fail(msg):
      raise ValueError(f"invalid SynToneGrid: {msg}")

    for name in ("sample_rate", "num_freqs", "num_amps", "seed"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        fail(f"{name} must be an integer, got {value!r}")
    for name in ("band_limited", "random_phase"):
      if not isinstance(getattr(self, name), (bool, np.bool_)):
        fail(f"{name} must be a bool, got {getattr(self, name)!r}")
    for name in ("freq_start", "freq_end", "amp_start", "amp_end", "duration"):
      value = getattr(self, name)
      if value is None and name == "freq_end":
        continue
      if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
          or not np.isfinite(value):
        fail(f"{name} must be a finite number, got {value!r}")
    if self.sample_rate <= 0:
      fail(f"sample_rate must be > 0, got {self.sample_rate}")
    nyquist = self.sample_rate / 2
    if not self.duration > 0:
      fail(f"duration must be > 0 seconds, got {self.duration}")
    if self.num_samples < 2:
      fail(f"sample_rate * duration = {self.sample_rate * self.duration} gives fewer than 2 samples per clip")
    if abs(self.sample_rate * self.duration - self.num_samples) > 1e-6:
      fail(f"sample_rate * duration = {self.sample_rate * self.duration} must be a whole number of samples")
    if self.num_freqs < 1:
      fail(f"num_freqs must be >= 1, got {self.num_freqs}")
    if self.num_amps < 1:
      fail(f"num_amps must be >= 1, got {self.num_amps}")
    if self.seed < 0:
      fail(f"seed must be >= 0, got {self.seed}")
    if not self.freq_start > 0:
      fail(f"freq_start must be > 0 Hz, got {self.freq_start}")
    if self.freq_end is not None and self.freq_end > nyquist:
      fail(f"freq_end {self.freq_end} Hz is above the Nyquist frequency {nyquist} Hz (sample_rate {self.sample_rate})")
    if self.freq_start > self.resolved_freq_end:
      fail(f"freq_start {self.freq_start} Hz must be <= freq_end {self.resolved_freq_end} Hz")
    if not self.amp_start > 0:
      fail(f"amp_start must be > 0, got {self.amp_start}")
    if self.amp_start > self.amp_end:
      fail(f"amp_start {self.amp_start} must be <= amp_end {self.amp_end}")

  @property
  def resolved_freq_end(self) -> float:
    return float(self.sample_rate / 2 if self.freq_end is None else self.freq_end)

  @property
  def num_samples(self) -> int:
    """Samples per clip (the original uses sample_rate * duration)."""
    return int(round(self.sample_rate * self.duration))

  @property
  def freqs(self) -> np.ndarray:
    return np.linspace(self.freq_start, self.resolved_freq_end, num=self.num_freqs)

  @property
  def amps(self) -> np.ndarray:
    return np.linspace(self.amp_start, self.amp_end, num=self.num_amps)

  @property
  def time(self) -> np.ndarray:
    """The original's time axis: endpoint included."""
    return np.linspace(0, self.duration, self.num_samples)

  @property
  def num_examples(self) -> int:
    return NUM_WAVEFORMS * self.num_freqs * self.num_amps

  @property
  def shape(self) -> tuple[int, int, int]:
    """Cardinality per factor, in FACTOR_NAMES order."""
    return (NUM_WAVEFORMS, self.num_freqs, self.num_amps)

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  def fingerprint(self) -> str:
    """Short stable hash of the fields (freq_end resolved, so None and sr/2 give the same data and the same name)."""
    fields = self.to_dict()
    fields["freq_end"] = self.resolved_freq_end
    for name in ("freq_start", "freq_end", "amp_start", "amp_end", "duration"):
      fields[name] = float(fields[name])  # 440 and 440.0 are the same grid
    for name in ("sample_rate", "num_freqs", "num_amps", "seed"):
      fields[name] = int(fields[name])
    for name in ("band_limited", "random_phase"):
      fields[name] = bool(fields[name])
    fields["_synth_version"] = _SYNTH_VERSION
    blob = json.dumps(fields, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _as_indices(grid: SynToneGrid, indices) -> np.ndarray:
  idx = np.asarray(indices)
  if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
    raise ValueError(f"indices must be a 1-D integer array, got shape {idx.shape} dtype {idx.dtype}")
  if idx.size and (idx.min() < 0 or idx.max() >= grid.num_examples):
    raise ValueError(f"indices must lie in [0, {grid.num_examples}), got range [{idx.min()}, {idx.max()}]")
  return idx.astype(np.int64)


def factor_indices(grid: SynToneGrid, indices=None) -> np.ndarray:
  """int32 [N, 3]: (waveform, freq_idx, amp_idx) of each clip (all clips when indices is None)."""
  idx = np.arange(grid.num_examples) if indices is None else _as_indices(grid, indices)
  wi = idx % NUM_WAVEFORMS
  ai = (idx // NUM_WAVEFORMS) % grid.num_amps
  fi = idx // (NUM_WAVEFORMS * grid.num_amps)
  return np.stack([wi, fi, ai], axis=1).astype(np.int32)


def factor_values(grid: SynToneGrid, indices=None) -> np.ndarray:
  """float32 [N, 3]: (waveform index, frequency in Hz, amplitude) of each clip."""
  fac = factor_indices(grid, indices)
  return np.stack([fac[:, 0].astype(np.float64), grid.freqs[fac[:, 1]], grid.amps[fac[:, 2]]],
                  axis=1).astype(np.float32)


def flat_index(grid: SynToneGrid, waveform: int, freq_idx: int, amp_idx: int) -> int:
  """Inverse of factor_indices: the original's sample index of one grid point."""
  return (freq_idx * grid.num_amps + amp_idx) * NUM_WAVEFORMS + waveform


def phases(grid: SynToneGrid) -> np.ndarray:
  """float64 [num_examples] starting phase of every clip: 0, or drawn per clip from `seed` (random_phase)."""
  if not grid.random_phase:
    return np.zeros(grid.num_examples)
  return np.random.default_rng(grid.seed).uniform(0.0, 2 * np.pi, size=grid.num_examples)


def _band_limited(kind: int, arg: np.ndarray, freqs: np.ndarray, nyquist: float) -> np.ndarray:
  """Fourier-series waveform keeping harmonics k*f < nyquist (k=1 always); arg [n, T], freqs [n]."""
  if kind == 0:
    return np.sin(arg)
  max_k = max(1, int(np.ceil(nyquist / freqs.min())))
  out = np.zeros_like(arg)
  for k in range(1, max_k + 1):
    if kind in (1, 3) and k % 2 == 0:  # triangle and square have odd harmonics only
      continue
    keep = ((k * freqs < nyquist) | (k == 1))[:, None]
    if not keep.any():
      break
    if kind == 1:
      term = np.cos(k * arg) / k**2
    else:
      term = np.sin(k * arg) / k
    out += np.where(keep, term, 0.0)
  scale = {1: -8 / np.pi**2, 2: -2 / np.pi, 3: 4 / np.pi}[kind]
  return scale * out


def _synthesize_chunk(grid: SynToneGrid, idx: np.ndarray, t: np.ndarray, phase: np.ndarray) -> np.ndarray:
  fac = factor_indices(grid, idx)
  freqs, amps = grid.freqs[fac[:, 1]], grid.amps[fac[:, 2]]
  out = np.empty((len(idx), t.size), dtype=np.float64)
  for kind in range(NUM_WAVEFORMS):
    rows = np.flatnonzero(fac[:, 0] == kind)
    if rows.size == 0:
      continue
    # Same operation order as the original (2*np.pi*freq*t) so the default output is bitwise identical.
    arg = (2 * np.pi * freqs[rows])[:, None] * t[None, :]
    if grid.random_phase:
      arg = arg + phase[idx[rows]][:, None]
    if grid.band_limited:
      wave = _band_limited(kind, arg, freqs[rows], grid.sample_rate / 2)
    elif kind == 0:
      wave = np.sin(arg)
    elif kind == 1:
      wave = signal.sawtooth(arg, 0.5)
    elif kind == 2:
      wave = signal.sawtooth(arg)
    else:
      wave = signal.square(arg)
    out[rows] = amps[rows][:, None] * wave
  return out


def synthesize(grid: SynToneGrid, indices=None, *, dtype=np.float32) -> np.ndarray:
  """Waveforms [len(indices), T] of the given clips (all when None), synthesised in chunks of 256."""
  idx = np.arange(grid.num_examples) if indices is None else _as_indices(grid, indices)
  t, phase = grid.time, phases(grid)
  out = np.empty((idx.size, grid.num_samples), dtype=dtype)
  for start in range(0, idx.size, _CHUNK):
    sl = slice(start, start + _CHUNK)
    out[sl] = _synthesize_chunk(grid, idx[sl], t, phase)
  return out


def _write_npy(zf: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
  with zf.open(name + ".npy", "w", force_zip64=True) as f:
    np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=True)


def export_npz(grid: SynToneGrid, path) -> pathlib.Path:
  """Writes the original `create.py` layout: compressed .npz with x float64 (N, T), y int (N,), metadata (pickled dict
  of per-clip freqs/amps/waveforms), classes (str array). `x` is streamed chunk by chunk (the 32k default is 4.1 GB of
  float64, never held in memory); the file is written to a temporary name and renamed, so a crash leaves no broken file.
  """
  path = pathlib.Path(path)
  if path.suffix != ".npz":
    raise ValueError(f"export path must end in .npz, got {path}")
  path.parent.mkdir(parents=True, exist_ok=True)
  n, length = grid.num_examples, grid.num_samples
  fac = factor_indices(grid)
  fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
  os.close(fd)
  try:
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
      with zf.open("x.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_2_0(f, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f8")),
                                                 "fortran_order": False, "shape": (n, length)})
        t, phase = grid.time, phases(grid)
        for start in range(0, n, _CHUNK):
          idx = np.arange(start, min(start + _CHUNK, n))
          f.write(np.ascontiguousarray(_synthesize_chunk(grid, idx, t, phase), dtype="<f8").tobytes())
      _write_npy(zf, "y", fac[:, 0].astype(np.int64))
      metadata = {"freqs": grid.freqs[fac[:, 1]], "amps": grid.amps[fac[:, 2]],
                  "waveforms": np.array(WAVEFORMS)[fac[:, 0]]}
      _write_npy(zf, "metadata", np.array(metadata, dtype=object))
      _write_npy(zf, "classes", np.array(WAVEFORMS))
    os.replace(tmp, path)
  except BaseException:
    pathlib.Path(tmp).unlink(missing_ok=True)
    raise
  return path


_NPZ_KEYS = ("x", "y", "metadata", "classes")


def load_npz(path) -> dict:
  """Reads the original layout back: {'x', 'y', 'metadata' (dict), 'classes' (list of str)}."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise MissingInputError(f"SynTone npz file not found: {path}")
  try:
    with np.load(path, allow_pickle=True) as data:
      missing = [k for k in _NPZ_KEYS if k not in data.files]
      if missing:
        raise DataError(f"{path} is not a SynTone dataset: missing key(s) {missing} (found {sorted(data.files)}); "
                        f"expected {list(_NPZ_KEYS)}")
      out = {"x": data["x"], "y": data["y"], "metadata": data["metadata"].item(),
             "classes": [str(c) for c in data["classes"]]}
  except ValueError as e:
    if "not a SynTone dataset" in str(e):
      raise
    raise DataError(f"cannot read SynTone npz {path}: corrupt or truncated file ({e})") from e
  except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
    raise DataError(f"cannot read SynTone npz {path}: corrupt or truncated file ({type(e).__name__}: {e})") from e
  if not isinstance(out["metadata"], dict) or not {"freqs", "amps", "waveforms"} <= set(out["metadata"]):
    raise DataError(f"{path}: metadata must be a dict with freqs/amps/waveforms, got {type(out['metadata'])}")
  if out["x"].ndim != 2 or out["y"].shape != (out["x"].shape[0],):
    raise DataError(f"{path}: inconsistent shapes x {out['x'].shape}, y {out['y'].shape}")
  return out


def split_indices(num_examples: int, val_fraction: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
  """(train_idx, val_idx) exactly as sklearn train_test_split(arange(n), test_size=val_fraction, random_state=seed),
  the original's split (25,600 / 6,400 for the default grid)."""
  from sklearn.model_selection import train_test_split  # local: keeps `import decompjax.data.syntone` light

  if num_examples < 2:
    raise ValueError(f"need at least 2 examples to split into train/validation, got {num_examples}")
  if not 0.0 < val_fraction < 1.0:
    raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
  train, val = train_test_split(np.arange(num_examples), test_size=val_fraction, random_state=seed)
  return train.astype(np.int64), val.astype(np.int64)
