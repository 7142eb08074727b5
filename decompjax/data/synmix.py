"""SynMix: seeded voice + music mixtures with exact stems (numpy), the ConVAE-BSS training set (issue 12 §1).

Why procedural: no separation corpus is available offline (specs/convae_bss.md §5), and SDR needs exact stems.
Every clip is drawn from its own generator `default_rng([seed, split_id, index])`, so a clip does not depend on
how many others are made, and the splits never share a clip.

Voice (glottal source-filter): a Rosenberg glottal pulse train, differentiated for lip radiation, whose F0
follows a note contour (one scale note per syllable, portamento between notes) with vibrato that fades in after
each onset and slow random jitter, plus a little aspiration noise; filtered by three parallel formant
resonators of the syllable's vowel (formants scaled per clip by a vocal-tract factor, 30 ms cross-fades between
vowels); a syllable envelope with pauses; high-passed noise bursts (consonants) before some syllables.
Music: SynTone-style tones (sine / triangle / saw / square as band-limited harmonic series) playing a triad per
chord event with ADSR envelopes, a bass line on the beat, and noise-burst drums (kick, snare, hi-hat) on a beat
grid. Voice and music are each normalised to unit RMS, the voice is scaled to an SNR drawn uniformly from
[snr_db_low, snr_db_high] (energy ratio voice / music over the clip), both are scaled by one gain that puts the
mixture peak in [0.5, 0.95], and `mixture = voice + music` holds exactly in float32.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import NamedTuple

import numpy as np
from scipy import ndimage, signal

SAMPLE_RATE = 16_000
SPLITS = ("train", "validation", "test")
_SPLIT_IDS = {"train": 0, "validation": 1, "test": 2}
_SYNTH_VERSION = 1  # bumped whenever synthesis changes: a cached dataset named by the fingerprint is never stale
# F1-F3 (Hz) of /a e i o u/ and their relative amplitudes (parallel formant synthesis).
_FORMANTS = np.array([[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410],
                      [300, 870, 2240]], np.float64)
_FORMANT_AMPS = np.array([1.0, 0.5, 0.25])
_FORMANT_BW = np.array([90.0, 110.0, 170.0])
_SCALES = (np.array([0, 2, 4, 7, 9]), np.array([0, 3, 5, 7, 10]))  # major / minor pentatonic
_MODES = (np.array([0, 2, 4, 5, 7, 9, 11]), np.array([0, 2, 3, 5, 7, 8, 10]))  # major / natural minor
_WAVEFORMS = ("sine", "triangle", "sawtooth", "square")
_MAX_HARMONICS = 10


@dataclasses.dataclass(frozen=True)
class SynMixSpec:
  """Generator settings (config.data.synmix); ValueError names a bad field."""
  sample_rate: int = SAMPLE_RATE
  min_seconds: float = 2.0
  max_seconds: float = 4.0
  snr_db_low: float = -5.0
  snr_db_high: float = 5.0
  seed: int = 0

  def __post_init__(self):
    for name in ("sample_rate", "seed"):
      v = getattr(self, name)
      if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {v!r}")
    for name in ("min_seconds", "max_seconds", "snr_db_low", "snr_db_high"):
      v = getattr(self, name)
      if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    if self.sample_rate < 8000:
      raise ValueError(f"sample_rate must be >= 8000 Hz (formants reach 3 kHz), got {self.sample_rate}")
    if self.seed < 0:
      raise ValueError(f"seed must be >= 0, got {self.seed}")
    if not 0.5 <= self.min_seconds <= self.max_seconds:
      raise ValueError(f"need 0.5 <= min_seconds <= max_seconds, got {self.min_seconds} and {self.max_seconds}")
    if self.snr_db_low > self.snr_db_high:
      raise ValueError(f"snr_db_low {self.snr_db_low} must be <= snr_db_high {self.snr_db_high}")

  @property
  def max_samples(self) -> int:
    return int(round(self.max_seconds * self.sample_rate))

  def fingerprint(self) -> str:
    fields = dataclasses.asdict(self)
    for name in ("min_seconds", "max_seconds", "snr_db_low", "snr_db_high"):
      fields[name] = float(fields[name])
    fields["_synth_version"] = _SYNTH_VERSION
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


class Clip(NamedTuple):
  mixture: np.ndarray  # float32 [T], == voice + music exactly
  voice: np.ndarray    # float32 [T]
  music: np.ndarray    # float32 [T]
  snr_db: float        # the drawn voice/music SNR


class VoiceParts(NamedTuple):
  audio: np.ndarray    # float64 [T], unit RMS
  f0: np.ndarray       # float64 [T] Hz (defined everywhere; meaningful where voiced)
  voiced: np.ndarray   # float64 [T] voiced-part envelope in [0, 1]


class MusicParts(NamedTuple):
  audio: np.ndarray    # float64 [T], unit RMS (tones + bass + drums)
  tones: np.ndarray    # float64 [T] each part as mixed (before the common RMS scaling)
  bass: np.ndarray
  drums: np.ndarray
  onsets: np.ndarray   # int64 drum hit positions (samples)
  bpm: float


def _midi_hz(m):
  return 440.0 * 2.0 ** ((np.asarray(m, np.float64) - 69.0) / 12.0)


def _one_pole(x: np.ndarray, tau_s: float, sr: int) -> np.ndarray:
  """One-pole low-pass along the last axis (time constant tau_s), starting settled at x[0]."""
  a = 1.0 - np.exp(-1.0 / (tau_s * sr))
  return signal.lfilter([a], [1.0, a - 1.0], x, zi=(1.0 - a) * x[:1])[0]


def _segments(rng, n: int, sr: int, lo_s: float, hi_s: float):
  """Consecutive segments covering [0, n): (starts, lengths, segment id of every sample)."""
  durs = np.maximum(1, (rng.uniform(lo_s, hi_s, size=int(n / (lo_s * sr)) + 2) * sr).astype(np.int64))
  ends = np.cumsum(durs)
  keep = int(np.searchsorted(ends, n)) + 1
  starts = np.concatenate([[0], ends[:keep - 1]])
  lengths = np.minimum(ends[:keep], n) - starts
  return starts, lengths, np.repeat(np.arange(keep), lengths)


def _adsr(pos, dur, attack, decay, sustain, release):
  """ADSR gain at `pos` samples into an event lasting `dur` samples (the release ends the event at 0)."""
  rise = np.clip(pos / attack, 0.0, 1.0)
  fall = 1.0 - (1.0 - sustain) * np.clip((pos - attack) / decay, 0.0, 1.0)
  return np.where(pos < attack, rise, fall) * np.clip((dur - pos) / release, 0.0, 1.0)


def _resonator(freq: float, bw: float, sr: int):
  """Two-pole band-pass resonator (b, a) with about unit peak gain at `freq`."""
  r = np.exp(-np.pi * bw / sr)
  return [(1 - r * r) / 2, 0.0, -(1 - r * r) / 2], [1.0, -2 * r * np.cos(2 * np.pi * freq / sr), r * r]


def synth_voice(rng: np.random.Generator, num_samples: int, sample_rate: int = SAMPLE_RATE) -> VoiceParts:
  """A sung/spoken procedural voice (see module docstring), unit RMS."""
  n, sr = num_samples, sample_rate
  t = np.arange(n)
  starts, lengths, syl = _segments(rng, n, sr, 0.15, 0.4)
  k = len(starts)
  sounding = rng.uniform(size=k) > 0.2
  sounding[0] = True  # never an all-pause clip
  # Note contour: pentatonic notes around a register, glides between them, vibrato fading in, slow jitter.
  scale = _SCALES[rng.integers(2)]
  notes = rng.uniform(43, 58) + scale[rng.integers(len(scale), size=k)] + 12.0 * (rng.uniform(size=k) < 0.15)
  pos = t - starts[syl]
  midi = _one_pole(notes[syl], rng.uniform(0.015, 0.04), sr)
  vib_ramp = np.clip(pos / (0.15 * sr), 0.0, 1.0)
  midi = midi + rng.uniform(0.15, 0.5) * vib_ramp * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t / sr
                                                          + rng.uniform(0, 2 * np.pi))
  jitter = _one_pole(rng.standard_normal(n), 0.03, sr)
  midi = midi + 0.08 * jitter / (np.std(jitter) + 1e-12)
  f0 = _midi_hz(midi)
  # Rosenberg glottal pulse per period (open quotient ~0.6), differentiated (lip radiation).
  frac = np.cumsum(f0 / sr) % 1.0
  tp, tn = rng.uniform(0.35, 0.45), rng.uniform(0.12, 0.2)
  pulse = np.where(frac < tp, 0.5 * (1 - np.cos(np.pi * frac / tp)),
                   np.where(frac < tp + tn, np.cos(0.5 * np.pi * (frac - tp) / tn), 0.0))
  source = np.diff(pulse, prepend=pulse[0])
  source = source / (np.std(source) + 1e-12) + rng.uniform(0.02, 0.1) * rng.standard_normal(n)
  # Vowel formants (vocal-tract factor per clip), cross-faded between syllables.
  tract = rng.uniform(0.85, 1.2)
  weights = np.zeros((len(_FORMANTS), n))
  weights[rng.integers(len(_FORMANTS), size=k)[syl], t] = 1.0
  weights = ndimage.uniform_filter1d(weights, size=max(1, int(0.03 * sr)), axis=1)
  voiced_audio = np.zeros(n)
  for v, formants in enumerate(_FORMANTS):
    for f, amp, bw in zip(formants * tract, _FORMANT_AMPS, _FORMANT_BW):
      b, a = _resonator(min(f, 0.45 * sr), bw, sr)
      voiced_audio += weights[v] * amp * signal.lfilter(b, a, source)
  # Syllable envelopes; a consonant (noise burst) takes the first 30-80 ms of some syllables.
  cons = np.where(rng.uniform(size=k) < 0.5, rng.uniform(0.03, 0.08, size=k) * sr, 0.0).astype(np.int64)
  cons = np.minimum(cons, lengths // 3)
  level = rng.uniform(0.6, 1.0, size=k) * sounding
  vpos, vdur = pos - cons[syl], lengths[syl] - cons[syl]
  env = level[syl] * _adsr(vpos, vdur, rng.uniform(0.01, 0.04) * sr, 0.1 * sr, rng.uniform(0.6, 0.9),
                           rng.uniform(0.03, 0.08) * sr) * (vpos >= 0)
  hp = signal.butter(4, min(rng.uniform(2500, 4500), 0.45 * sr), "highpass", fs=sr, output="sos")
  noise = signal.sosfilt(hp, rng.standard_normal(n))
  burst = (pos < cons[syl]) * np.sin(np.pi * np.clip(pos / np.maximum(cons[syl], 1), 0, 1)) * level[syl]
  audio = voiced_audio / (np.std(voiced_audio) + 1e-12) * env + rng.uniform(0.2, 0.5) * burst * noise
  return VoiceParts(audio / (np.sqrt(np.mean(audio ** 2)) + 1e-12), f0, env)


def _tone(freqs: np.ndarray, waveform: int, sr: int) -> np.ndarray:
  """Band-limited SynTone waveform(s) following per-sample frequencies [..., T] (harmonics < Nyquist, <= 10)."""
  phase = 2 * np.pi * np.cumsum(freqs, axis=-1) / sr  # float64: the phase grows large over a clip
  s_cur, two_c = np.sin(phase).astype(np.float32), (2 * np.cos(phase)).astype(np.float32)
  s_prev, out = np.zeros_like(s_cur), s_cur.copy()
  top = float(np.max(freqs))
  for h in range(2, _MAX_HARMONICS + 1 if waveform else 2):
    s_prev, s_cur = s_cur, two_c * s_cur - s_prev  # sin(h x) by the Chebyshev recurrence
    odd = h % 2 == 1
    amp = {1: (-1) ** ((h - 1) // 2) / h ** 2 if odd else 0.0, 2: 1.0 / h, 3: 1.0 / h if odd else 0.0}[waveform]
    if amp and h * top < sr / 2:
      out += amp * s_cur
    elif amp:
      out += amp * s_cur * (h * freqs < sr / 2)
  return out.astype(np.float64)


def _drum_kit(rng, sr: int) -> list[np.ndarray]:
  """Kick, snare and hi-hat templates: noise bursts (plus a pitched thump for kick and snare)."""
  t = np.arange(int(0.25 * sr)) / sr
  kick = np.sin(2 * np.pi * np.cumsum(50 + rng.uniform(80, 130) * np.exp(-t / 0.03)) / sr) * np.exp(-t / 0.12)
  kick += 0.3 * signal.sosfilt(signal.butter(2, 1500, fs=sr, output="sos"), rng.standard_normal(t.size)) \
      * np.exp(-t / 0.01)
  band = signal.butter(2, [1000, min(6000, 0.45 * sr)], "bandpass", fs=sr, output="sos")
  snare = signal.sosfilt(band, rng.standard_normal(t.size)) * np.exp(-t / rng.uniform(0.06, 0.14)) \
      + 0.4 * np.sin(2 * np.pi * rng.uniform(170, 220) * t) * np.exp(-t / 0.05)
  th = t[:int(0.08 * sr)]
  hat = signal.sosfilt(signal.butter(4, min(7000, 0.45 * sr), "highpass", fs=sr, output="sos"),
                       rng.standard_normal(th.size)) * np.exp(-th / rng.uniform(0.015, 0.04))
  return [x / np.max(np.abs(x)) for x in (kick, snare, hat)]


def synth_music(rng: np.random.Generator, num_samples: int, sample_rate: int = SAMPLE_RATE) -> MusicParts:
  """Chords + bass + drums on a beat grid (see module docstring), unit RMS."""
  n, sr = num_samples, sample_rate
  t = np.arange(n)
  bpm = rng.uniform(80, 140)
  beat = 60.0 / bpm * sr
  grid0 = rng.uniform(0, beat)  # the clip starts anywhere in a beat (a crop of a longer piece)
  step = np.floor((t - grid0) / (beat / 2)).astype(np.int64)  # eighth-note index (-1 before the first)
  # Chords: a triad of the key per event (one or two bars), band-limited SynTone waveform, ADSR.
  mode, root = _MODES[rng.integers(2)], int(rng.integers(50, 62))
  per_event = 8 * int(rng.integers(1, 3))  # eighths per chord event
  event = np.floor_divide(step, per_event)
  events = event - event.min()
  degrees = rng.choice([0, 3, 4, 5], size=events.max() + 1)
  triad = np.stack([degrees, degrees + 2, degrees + 4], axis=1)  # [E, 3] scale degrees
  chord_midi = root + mode[triad % 7] + 12 * (triad // 7)
  freqs = _midi_hz(chord_midi)[events].T  # [3, T]
  epos = t - (grid0 + event * per_event * beat / 2)
  edur = per_event * beat / 2
  env = _adsr(epos, edur, rng.uniform(0.005, 0.06) * sr, rng.uniform(0.05, 0.3) * sr, rng.uniform(0.3, 0.8),
              rng.uniform(0.05, 0.2) * sr)
  tones = env * _tone(freqs, int(rng.integers(len(_WAVEFORMS))), sr).sum(axis=0)
  # Bass: the chord root two octaves down on each beat (sometimes resting), a short plucked envelope.
  beat_idx = np.floor_divide(step, 2)
  plays = rng.uniform(size=beat_idx.max() - beat_idx.min() + 1) < 0.85
  bpos = t - (grid0 + beat_idx * beat)
  benv = _adsr(bpos, beat, 0.005 * sr, rng.uniform(0.08, 0.2) * sr, 0.4, 0.03 * sr) \
      * plays[beat_idx - beat_idx.min()]
  bass = benv * _tone(_midi_hz(chord_midi[:, 0] - 24)[events], int(rng.integers(1, 3)), sr)
  # Drums: kick on beats 1 and 3, snare on 2 and 4, hi-hat on eighths; random velocities.
  kit = _drum_kit(rng, sr)
  eighths = np.arange(-1, int(np.ceil(n / (beat / 2))) + 1)
  at = np.round(grid0 + eighths * beat / 2).astype(np.int64)
  hits = [(eighths % 8 == 0) | ((eighths % 8 == 4) & (rng.uniform(size=eighths.size) < 0.9)),
          eighths % 4 == 2, rng.uniform(size=eighths.size) < 0.8]
  drums, onsets = np.zeros(n + int(0.25 * sr)), []
  for template, hit in zip(kit, hits):
    pos = at[hit & (at >= 0) & (at < n)]
    for p, velocity in zip(pos, rng.uniform(0.7, 1.0, size=pos.size)):  # a few dozen hits: cheaper than an FFT
      drums[p:p + template.size] += velocity * template
    onsets.append(pos)
  drums = drums[:n]
  parts = [p / (np.sqrt(np.mean(p ** 2)) + 1e-12) * g for p, g in
           zip((tones, bass, drums), (rng.uniform(0.5, 1.0), rng.uniform(0.3, 0.8), rng.uniform(0.4, 1.0)))]
  audio = sum(parts)
  rms = np.sqrt(np.mean(audio ** 2)) + 1e-12
  return MusicParts(audio / rms, *parts, np.unique(np.concatenate(onsets)), float(bpm))


def clip(spec: SynMixSpec, split: str, index: int) -> Clip:
  """Mixture `index` of `split` (its own generator: the same clip whatever else is generated)."""
  if split not in _SPLIT_IDS:
    raise ValueError(f"unknown SynMix split {split!r}; expected one of {SPLITS}")
  rng = np.random.default_rng([spec.seed, _SPLIT_IDS[split], int(index)])
  n = int(round(rng.uniform(spec.min_seconds, spec.max_seconds) * spec.sample_rate))
  voice = synth_voice(rng, n, spec.sample_rate).audio
  music = synth_music(rng, n, spec.sample_rate).audio
  snr_db = float(rng.uniform(spec.snr_db_low, spec.snr_db_high))
  voice = voice * 10.0 ** (snr_db / 20.0)  # both unit RMS: the energy ratio is exactly the SNR
  gain = rng.uniform(0.5, 0.95) / np.max(np.abs(voice + music))
  v32, m32 = (voice * gain).astype(np.float32), (music * gain).astype(np.float32)
  return Clip(v32 + m32, v32, m32, snr_db)


def generate(spec: SynMixSpec, split: str, num: int, start: int = 0) -> dict[str, np.ndarray]:
  """Clips start..start+num-1 of `split`, zero-padded to max_samples: {'mixture', 'voice', 'music' float32
  [num, max_samples], 'length' int32 [num], 'snr_db' float32 [num]}."""
  out = {k: np.zeros((num, spec.max_samples), np.float32) for k in ("mixture", "voice", "music")}
  out["length"], out["snr_db"] = np.zeros(num, np.int32), np.zeros(num, np.float32)
  for i in range(num):
    c = clip(spec, split, start + i)
    for key in ("mixture", "voice", "music"):
      out[key][i, :c.mixture.size] = getattr(c, key)
    out["length"][i], out["snr_db"][i] = c.mixture.size, c.snr_db
  return out
