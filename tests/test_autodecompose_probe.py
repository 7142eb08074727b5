"""Few-shot speaker-ID protocol: splits, F1 on informative vs uninformative features, tables."""
import math

import numpy as np
import pytest

from decompjax.autodecompose import probe


def _toy(n_speakers=4, utts=12, crops_per_utt=3, seed=0):
  rng = np.random.default_rng(seed)
  speaker = np.repeat(np.arange(n_speakers), utts * crops_per_utt)
  group = np.repeat(np.arange(n_speakers * utts), crops_per_utt)
  centres = rng.normal(0, 4, (n_speakers, 6))
  informative = centres[speaker] + rng.normal(0, 1, (len(speaker), 6))
  noise = rng.normal(0, 1, (len(speaker), 6))
  return {"good": informative, "noise": noise}, speaker, group


def test_split_keeps_utterances_on_one_side():
  _, speaker, group = _toy()
  test, pools = probe.split_indices(speaker, group, seed=1, test_fraction=0.3)
  train = np.concatenate(list(pools.values()))
  assert not set(group[test]) & set(group[train])
  assert len(test) + len(train) == len(speaker)
  for s, pool in pools.items():
    assert (speaker[pool] == s).all()
    n_test = np.sum(speaker[test] == s)
    assert 0.3 * 36 <= n_test <= 0.3 * 36 + 3


def test_f1_separates_informative_from_noise_and_marks_missing_cells():
  feats, speaker, group = _toy()
  crop = probe.CROP_SECONDS
  rows = probe.few_shot_f1(feats, speaker, group, seconds=(2, 10, 40), seeds=3)
  cell = {(r["feature"], r["seconds"]): r for r in rows}
  assert cell[("good", 10)]["f1_mean"] > 90
  assert cell[("noise", 10)]["f1_mean"] < 50          # chance is 25 %
  assert cell[("good", 2)]["crops_per_speaker"] == math.ceil(2 / crop)
  # 40 s needs 40 crops per speaker but each has only ~25 labelled: missing, not silently smaller
  assert cell[("good", 40)]["runs"] == 0 and np.isnan(cell[("good", 40)]["f1_mean"])
  assert cell[("good", 10)]["runs"] == 3


def test_tables(tmp_path):
  feats, speaker, group = _toy()
  rows = probe.few_shot_f1(feats, speaker, group, seconds=(2, 40), seeds=2)
  csv_path, md_path = probe.write_table(rows, str(tmp_path))
  md = open(md_path).read()
  assert md.startswith("| features | 2 s | 40 s |") and "| good |" in md and "n/a" in md
  assert open(csv_path).read().splitlines()[0] == "feature,seconds,crops_per_speaker,f1_mean,f1_std,runs"


def test_one_speaker_is_an_error():
  with pytest.raises(ValueError, match="at least 2 speakers"):
    probe.few_shot_f1({"x": np.zeros((4, 2))}, np.zeros(4, int), np.arange(4), seconds=(1,), seeds=1)
