"""Frame labels (decompjax.data.frame_labels): the spec's SimVowels rule, the overlap mask, gaps and padding."""
from __future__ import annotations

import numpy as np
import pytest

from decompjax.data import frame_labels as fl


def test_num_frames_matches_wav2vec2_counts():
  assert fl.num_frames(64000) == 199          # 4 s
  assert fl.num_frames(114400) == 357         # 7.15 s
  assert fl.num_frames(400) == 1 and fl.num_frames(399) == 0 and fl.num_frames(720) == 2


def _spec_rule(vowels, n_frames):
  """Direct transcription of the spec: frame i's vowel is segment c's while frame_stop - 200 <= stop_c."""
  stops = 1600 * (np.arange(len(vowels)) + 1)
  out = []
  for i in range(n_frames):
    c = next(c for c, stop in enumerate(stops) if 320 * i + 400 - 200 <= stop)
    out.append(vowels[c])
  return np.array(out)


def test_simvowels_labels_follow_the_spec_rule_and_overlap_marks_vowel_changes():
  rng = np.random.default_rng(0)
  vowels = rng.integers(0, 5, 40)
  n = 40 * 1600
  labels, overlap = fl.frame_labels(fl.segments(vowels, 1600), n)
  assert labels.shape == overlap.shape == (199,)
  np.testing.assert_array_equal(labels, _spec_rule(vowels, 199))
  per_sample = np.repeat(vowels, 1600)
  want = np.array([len(set(per_sample[320 * i:320 * i + 400])) > 1 for i in range(199)], np.float32)
  np.testing.assert_array_equal(overlap, want)
  assert 0 < overlap.sum() < 199


def test_same_vowel_across_a_boundary_is_not_an_overlap():
  labels, overlap = fl.frame_labels(fl.segments(np.array([3, 3]), 1600), 3200)
  assert set(labels) == {3} and overlap.sum() == 0


def test_gaps_are_unknown_and_padding_frames_are_unknown_without_overlap():
  iv = fl.Intervals(np.array([0, 1000]), np.array([600, 2000]), np.array([1, 2]))
  labels, overlap = fl.frame_labels(iv, 2000, n_frames=10)
  # frame 0 [0,400) inside interval 1; frame 1 [320,720) centre 520 -> 1 but touches the gap; frame 2 centre 840 gap
  assert labels[0] == 1 and overlap[0] == 0
  assert labels[1] == 1 and overlap[1] == 1
  assert labels[2] == fl.UNKNOWN and overlap[2] == 1
  assert labels[4] == 2 and overlap[4] == 0
  real = fl.num_frames(2000)
  assert np.all(labels[real:] == fl.UNKNOWN) and np.all(overlap[real:] == 0)


def test_shifted_clips_to_the_excerpt():
  iv = fl.Intervals(np.array([0, 500, 900]), np.array([500, 900, 1500]), np.array([0, 1, 2]))
  s = iv.shifted(600, 500)
  np.testing.assert_array_equal(s.starts, [0, 300])
  np.testing.assert_array_equal(s.stops, [300, 500])
  np.testing.assert_array_equal(s.labels, [1, 2])


def test_bad_intervals_are_refused():
  with pytest.raises(ValueError):
    fl.Intervals(np.array([0]), np.array([10, 20]), np.array([1]))
  with pytest.raises(ValueError):
    fl.Intervals(np.array([10]), np.array([5]), np.array([1]))
