"""Frame-level labels for DecVAE's 25 ms / 20 ms frames, from segment or phone intervals (specs/decvae.md §3.1).

Frame i covers samples [hop*i, hop*i + frame) (400 / 320 at 16 kHz, the wav2vec2 receptive field and stride).
Its label is the label of the sample at the frame centre, hop*i + frame/2: upstream's rule "segment c while
frame_stop - 200 <= stop_c" picks the same segment for SimVowels' 1600-sample segments (a centre never falls on a
boundary) and this form also works for phone alignments with gaps. `overlap` = 1 for a frame whose samples carry
more than one label (it straddles a label change, or touches an unlabelled gap); evaluation drops those frames.

Also the record a corpus loader returns (`LabelledUtterance`): where the audio is, which part of it to keep, its
label intervals and its utterance-level labels, so prepare_data treats every corpus alike.
"""
from __future__ import annotations

import dataclasses

import numpy as np

FRAME = 400
HOP = 320
UNKNOWN = -1


def num_frames(num_samples: int, frame: int = FRAME, hop: int = HOP) -> int:
  """Frames of a signal (no padding): 4 s at 16 kHz -> 199, 7.15 s -> 357, shorter than a frame -> 0."""
  return 0 if num_samples < frame else 1 + (num_samples - frame) // hop


@dataclasses.dataclass(frozen=True)
class Intervals:
  """Label intervals in samples: [starts[k], stops[k]) has label labels[k] (int, UNKNOWN allowed)."""
  starts: np.ndarray
  stops: np.ndarray
  labels: np.ndarray

  def __post_init__(self):
    n = {len(self.starts), len(self.stops), len(self.labels)}
    if len(n) != 1:
      raise ValueError(f"Intervals: starts, stops and labels differ in length: {n}")
    if np.any(np.asarray(self.stops) < np.asarray(self.starts)):
      raise ValueError("Intervals: an interval ends before it starts")

  def shifted(self, offset: int, length: int) -> "Intervals":
    """The intervals of the excerpt [offset, offset + length), clipped to it (empty ones dropped)."""
    s = np.clip(np.asarray(self.starts, np.int64) - offset, 0, length)
    e = np.clip(np.asarray(self.stops, np.int64) - offset, 0, length)
    keep = e > s
    return Intervals(s[keep], e[keep], np.asarray(self.labels, np.int32)[keep])


def segments(labels: np.ndarray, segment_samples: int) -> Intervals:
  """Consecutive fixed-length segments (SimVowels: one vowel per 1600 samples)."""
  labels = np.asarray(labels, np.int32)
  starts = np.arange(len(labels), dtype=np.int64) * segment_samples
  return Intervals(starts, starts + segment_samples, labels)


def sample_labels(intervals: Intervals, num_samples: int) -> np.ndarray:
  """[num_samples] int32: each sample's label (UNKNOWN outside every interval; later intervals win)."""
  out = np.full(num_samples, UNKNOWN, np.int32)
  for s, e, lab in zip(intervals.starts, intervals.stops, intervals.labels):
    out[max(int(s), 0):min(int(e), num_samples)] = lab
  return out


def frame_labels(intervals: Intervals, num_samples: int, n_frames: int | None = None, frame: int = FRAME,
                 hop: int = HOP) -> tuple[np.ndarray, np.ndarray]:
  """(labels int32 [F], overlap float32 [F]) for the frames of a num_samples-long signal. n_frames larger than
  the signal holds pads with UNKNOWN labels and overlap 0 (padding frames are masked by frame_valid anyway)."""
  real = num_frames(num_samples, frame, hop)
  n_frames = real if n_frames is None else n_frames
  labels = np.full(n_frames, UNKNOWN, np.int32)
  overlap = np.zeros(n_frames, np.float32)
  k = min(real, n_frames)
  if k == 0:
    return labels, overlap
  per_sample = sample_labels(intervals, num_samples)
  starts = np.arange(k) * hop
  labels[:k] = per_sample[starts + frame // 2]
  windows = np.lib.stride_tricks.sliding_window_view(per_sample, frame)[starts]  # [k, frame], a view
  overlap[:k] = (windows.min(axis=1) != windows.max(axis=1)).astype(np.float32)
  return labels, overlap


@dataclasses.dataclass
class LabelledUtterance:
  """One corpus utterance as a loader describes it (nothing read yet).

  start / stop: the part of the file to keep, in samples at 16 kHz (stop None = to the end), e.g. TIMIT's
  silence trim from the phone alignment. intervals: frame-label intervals in samples of the whole file (None when
  the corpus has no alignment). labels: utterance-level integer labels ('speaker', 'emotion', 'king_stage', 'task').
  """
  uid: str
  path: str
  labels: dict[str, int]
  intervals: Intervals | None = None
  start: int = 0
  stop: int | None = None


@dataclasses.dataclass
class CorpusListing:
  """What a corpus loader found for one split: the utterances, the names behind each integer label
  (names['speaker'][i] is speaker i) and the files it skipped, by reason (reported, never silent)."""
  utterances: list[LabelledUtterance]
  names: dict[str, list[str]]
  skipped: dict[str, list[str]] = dataclasses.field(default_factory=dict)

  def skip(self, reason: str, path: str) -> None:
    self.skipped.setdefault(reason, []).append(path)
