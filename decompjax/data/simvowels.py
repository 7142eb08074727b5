"""SimVowels: a seeded numpy re-implementation of the DecVAE simulated-vowel corpus (specs/decvae.md §3.1).

Each utterance is a sequence of 0.1 s vowel segments (16 kHz) spoken by one of 20 discrete "speakers" (a
vocal-tract factor v: formants f/v, F0 = 120/v Hz), split 10/5/5 into train/validation/test with disjoint
speakers. Segment synthesis follows the original: Gaussian noise through three 4th-order Butterworth formant
band-passes (±100 Hz, amplitudes 1/.5/.3), convolved (2048-point spectral product, so circular, as upstream)
with an excitation band-passed 65–7999 Hz, peak-normalised, plus Gaussian noise at a fixed SNR.

Excitation:
  'pulse'         a real glottal pulse train (Rosenberg pulses, differentiated for lip radiation) at the speaker's
                  F0 with a random phase per segment, so pitch carries speaker information (default).
  'noise_compat'  the original's "pulse train", which is white noise in every period, so F0 has no effect.

Deliberate differences from upstream, all documented: everything is drawn from one seeded numpy Generator
(upstream is unseeded); filters are applied as second-order sections (numerically safer than (b, a) for these
narrow bands, same design); the noise is scaled to the exact target SNR instead of the iterate-until-close loop;
speakers are balanced within a split. The generator is general (waveforms + per-segment vowel + speaker labels)
so other families (DecVAE) can share it. The TFDS builder lives in `simvowels_tfds`.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
from scipy import signal

SAMPLE_RATE = 16_000
SEGMENT_SAMPLES = 1600  # 0.1 s per vowel
NFFT_CONV = 2048
VOWELS = ("a", "e", "I", "aw", "u")
# Canonical F1-F3 (Hz), label ids in this order.
FORMANTS = np.array([[710, 1100, 2540], [550, 1770, 2490], [400, 1920, 2560], [590, 880, 2540],
                     [310, 870, 2250]], np.float64)
FORMANT_AMPS = np.array([1.0, 0.5, 0.3])
FORMANT_HALF_BW = 100.0
# Vocal-tract factor ranges; upstream overwrites a draw from the range by its mean -> 20 discrete speakers.
SPLIT_RANGES = {
    "train": [(0.70, .73), (.78, .81), (.82, .85), (.86, .89), (.94, .97), (1.02, 1.05), (1.10, 1.13),
              (1.14, 1.17), (1.18, 1.21), (1.26, 1.29)],
    "validation": [(.74, .75), (.90, .91), (.98, .99), (1.06, 1.07), (1.22, 1.23)],
    "test": [(.76, .77), (.92, .93), (1.00, 1.01), (1.08, 1.09), (1.24, 1.25)],
}
# Global speaker ids SP1..SP20 = ranges sorted by v, so a label means the same speaker in every split.
_ALL_V = sorted(float(np.mean(r)) for rs in SPLIT_RANGES.values() for r in rs)
EXCITATIONS = ("pulse", "noise_compat")


def speaker_v(speaker_id: int) -> float:
  return _ALL_V[speaker_id]


def split_speakers(split: str) -> list[int]:
  """Global speaker ids (0..19) of a split."""
  if split not in SPLIT_RANGES:
    raise ValueError(f"unknown SimVowels split {split!r}; valid: {', '.join(SPLIT_RANGES)}")
  return [_ALL_V.index(float(np.mean(r))) for r in SPLIT_RANGES[split]]


@dataclasses.dataclass(frozen=True)
class SimVowelsSpec:
  excitation: str = "pulse"
  seconds: float = 4.0          # utterance length; a multiple of 0.1 s
  snr_db: float = 15.0
  seed: int = 0

  def __post_init__(self):
    if self.excitation not in EXCITATIONS:
      raise ValueError(f"excitation={self.excitation!r} is not one of {EXCITATIONS}")
    segs = self.seconds * SAMPLE_RATE / SEGMENT_SAMPLES
    if self.seconds <= 0 or abs(segs - round(segs)) > 1e-6:
      raise ValueError(f"seconds={self.seconds} must be a positive multiple of 0.1")

  @property
  def segments(self) -> int:
    return int(round(self.seconds * SAMPLE_RATE / SEGMENT_SAMPLES))


@functools.lru_cache(maxsize=None)
def _bandpass(lo: float, hi: float) -> np.ndarray:
  nyq = SAMPLE_RATE / 2
  return signal.butter(4, [max(lo, 1.0) / nyq, min(hi, nyq - 1.0) / nyq], btype="band", output="sos")


def _formant_sos(v: float, freqs: np.ndarray) -> list[np.ndarray]:
  return [_bandpass(f / v - FORMANT_HALF_BW, f / v + FORMANT_HALF_BW) for f in freqs]


def glottal_pulses(rng: np.random.Generator, f0: float, n_seg: int, length: int = SEGMENT_SAMPLES) -> np.ndarray:
  """[n_seg, length] differentiated Rosenberg pulse trains at f0 with a random phase per segment, unit variance."""
  t = np.arange(length) / SAMPLE_RATE
  phase = (rng.uniform(size=(n_seg, 1)) + f0 * t[None, :]) % 1.0
  tp, tn = 0.4, 0.16  # opening / closing fractions of the period
  g = np.where(phase < tp, 0.5 * (1 - np.cos(np.pi * phase / tp)),
               np.where(phase < tp + tn, np.cos(0.5 * np.pi * (phase - tp) / tn), 0.0))
  d = np.diff(g, axis=1, prepend=g[:, :1])
  return d / (d.std(axis=1, keepdims=True) + 1e-12)


def synthesize_segments(rng: np.random.Generator, v: float, vowels: np.ndarray, spec: SimVowelsSpec) -> np.ndarray:
  """[n] vowel ids of one speaker -> [n, 1600] noisy segments (one row per vowel segment)."""
  return _synthesize(rng, v, vowels, spec, FORMANTS, SEGMENT_SAMPLES)


def _synthesize(rng: np.random.Generator, v: float, vowels: np.ndarray, spec: SimVowelsSpec, formants: np.ndarray,
                length: int) -> np.ndarray:
  """[n] rows of a formant table -> [n, length] noisy segments (the one synthesis of segments and tokens)."""
  n = len(vowels)
  w = rng.standard_normal((n, length))
  s = np.zeros_like(w)
  for vowel in np.unique(vowels):
    rows = vowels == vowel
    for amp, sos in zip(FORMANT_AMPS, _formant_sos(v, formants[int(vowel)])):
      s[rows] += amp * signal.sosfilt(sos, w[rows], axis=1)
  if spec.excitation == "pulse":
    exc = glottal_pulses(rng, 120.0 / v, n, length)
  else:  # upstream: fresh N(0, 1) in every pitch period == continuous white noise
    exc = rng.standard_normal((n, length))
  exc = signal.sosfilt(_bandpass(65.0, 7999.0), exc, axis=1)
  y = np.real(np.fft.ifft(np.fft.fft(s, NFFT_CONV) * np.fft.fft(exc, NFFT_CONV)))[:, :length]
  y /= np.max(np.abs(y), axis=1, keepdims=True)
  noise = rng.standard_normal(y.shape)
  # Scale the noise so each segment's empirical SNR is exactly snr_db.
  p_sig, p_noise = np.mean(y ** 2, axis=1, keepdims=True), np.mean(noise ** 2, axis=1, keepdims=True)
  noise *= np.sqrt(p_sig / (p_noise * 10 ** (spec.snr_db / 10)))
  return (y + noise).astype(np.float32)


def generate(split: str, num_utterances: int, spec: SimVowelsSpec = SimVowelsSpec()) -> dict[str, np.ndarray]:
  """Generates one split: {'audio': [N, L] float32, 'vowel': [N, segments] int32, 'speaker': [N] int32 (global
  id 0..19), 'v': [N] float32}. Deterministic in (split, num_utterances, spec)."""
  if num_utterances < 1:
    raise ValueError(f"num_utterances must be >= 1, got {num_utterances}")
  speakers = split_speakers(split)
  split_index = list(SPLIT_RANGES).index(split)
  rng = np.random.default_rng([spec.seed, split_index])
  spk = rng.permutation(np.resize(np.asarray(speakers), num_utterances)).astype(np.int32)
  vowels = rng.integers(0, len(VOWELS), size=(num_utterances, spec.segments)).astype(np.int32)
  audio = np.zeros((num_utterances, spec.segments * SEGMENT_SAMPLES), np.float32)
  for sp in speakers:  # vectorise over all segments of one speaker (filter designs are shared)
    rows = np.flatnonzero(spk == sp)
    if rows.size == 0:
      continue
    segs = synthesize_segments(rng, speaker_v(sp), vowels[rows].reshape(-1), spec)
    audio[rows] = segs.reshape(rows.size, -1)
  v = np.asarray([speaker_v(s) for s in spk], np.float32)
  return {"audio": audio, "vowel": vowels, "speaker": spk, "v": v}


# The traversal set (spec §3.1 end; upstream simulated_vowels_for_latent_traversal.py): single 25 ms tokens
# synthesised at token length (as upstream), speakers on a fine v grid instead of the 20 training speakers.
TOKEN_SAMPLES = 400
# arange(0.70, 1.29, 0.01) + 0.005 as the spec writes it: 59 factors 0.705 .. 1.285 (built from integers because
# the float arange yields a spurious 60th value at 1.295).
TRAVERSAL_V = np.round(0.705 + 0.01 * np.arange(59), 3)
VOWELS_8 = ("i", "I", "e", "ae", "a", "aw", "y", "u")
FORMANTS_8 = np.array([[280, 2250, 2890], [400, 1920, 2560], [550, 1770, 2490], [690, 1660, 2490],
                       [710, 1100, 2540], [590, 880, 2540], [450, 1030, 2380], [310, 870, 2250]], np.float64)
TRAVERSAL_KINDS = ("fixed_vowels", "fixed_speakers")


def traversal_set(kind: str = "fixed_vowels", *, vowels: int = 5, repeats: int = 1, excitation: str = "pulse",
                  snr_db: float = 15.0, seed: int = 0) -> dict[str, np.ndarray]:
  """Latent-response tokens: every (v, vowel) pair of the 59-value v grid x the 5 (or 8) vowels, `repeats`
  independent tokens each. kind 'fixed_vowels' orders them vowel-major (all speakers of one vowel together),
  'fixed_speakers' speaker-major. Returns {'tokens': [n, 400] float32, 'vowel': [n] int32 (ids of VOWELS or
  VOWELS_8), 'v': [n] float32, 'speaker': [n] int32 (index into TRAVERSAL_V)}; same arguments, same tokens."""
  if kind not in TRAVERSAL_KINDS:
    raise ValueError(f"traversal kind {kind!r} is not one of {TRAVERSAL_KINDS}")
  if vowels not in (5, 8):
    raise ValueError(f"traversal vowels={vowels}: the vowel sets have 5 or 8 vowels")
  if repeats < 1:
    raise ValueError(f"traversal repeats={repeats} must be >= 1")
  table = FORMANTS if vowels == 5 else FORMANTS_8
  spec = SimVowelsSpec(excitation=excitation, snr_db=snr_db, seed=seed)
  rng = np.random.default_rng([seed, 7])  # 7: apart from the split streams of `generate`
  vow_ids = np.repeat(np.arange(vowels, dtype=np.int32), repeats)
  by_speaker = np.stack([_synthesize(rng, float(v), vow_ids, spec, table, TOKEN_SAMPLES) for v in TRAVERSAL_V])
  spk, vow = np.meshgrid(np.arange(len(TRAVERSAL_V)), vow_ids, indexing="ij")   # [S, V*R]
  order = (0, 1) if kind == "fixed_speakers" else (1, 0)
  pick = lambda a: np.transpose(a, order + tuple(range(2, a.ndim))).reshape(-1, *a.shape[2:])  # noqa: E731
  return {"tokens": pick(by_speaker), "vowel": pick(vow).astype(np.int32),
          "v": TRAVERSAL_V[pick(spk)].astype(np.float32), "speaker": pick(spk).astype(np.int32)}
