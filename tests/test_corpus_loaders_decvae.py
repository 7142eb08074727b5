"""DecVAE corpus loaders on tiny generated trees in the TIMIT, VOC-ALS and IEMOCAP layouts."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from decompjax.data import frame_labels as fl
from decompjax.data import iemocap, timit, voc_als
from decompjax.errors import DataError, MissingInputError

from decvae_trees import iemocap_tree, iemocap_utterance, noise, timit_tree, timit_utterance, voc_als_tree, write_wav


# --- TIMIT -------------------------------------------------------------------------------------------------------

def test_timit_phone_folding_61_48_39():
  assert len(timit.PHONES_39) == 39 and len(timit.PHONES_48) == 48
  p = timit.PHONES_39.index
  assert {timit.fold_phone(x) for x in ("pcl", "bcl", "epi", "h#", "pau")} == {p("sil")}
  assert timit.fold_phone("ao") == timit.fold_phone("aa") == p("ao")
  assert timit.fold_phone("ix") == timit.fold_phone("ih") == p("ix")
  assert timit.fold_phone("zh") == p("sh") and timit.fold_phone("el") == p("l") and timit.fold_phone("en") == p("n")
  assert timit.fold_phone("ax-h") == timit.fold_phone("ah") == p("ax") and timit.fold_phone("ux") == p("uw")
  assert timit.fold_phone("q") == fl.UNKNOWN
  with pytest.raises(ValueError):
    timit.fold_phone("xx")
  assert len(set(timit.DEV_SPEAKERS)) == 50 and len(set(timit.CORE_TEST_SPEAKERS)) == 24
  assert not set(timit.DEV_SPEAKERS) & set(timit.CORE_TEST_SPEAKERS)


def test_timit_splits_trim_and_labels(tmp_path):
  root = timit_tree(tmp_path / "TIMIT")
  train = timit.load_utterances(str(root), "train")
  assert [u.uid for u in train.utterances] == ["FCJF0/SI1027", "MKLW0/SX101"]   # SA dropped
  assert train.names["speaker"] == ["FAKS0", "FCJF0", "MDAB0", "MKLW0", "MZZZ0"]
  assert [u.uid for u in timit.load_utterances(str(root), "validation").utterances] == ["FAKS0/SI943"]
  test = timit.load_utterances(str(root), "test").utterances
  assert [u.uid for u in test] == ["MDAB0/SX139"] and test[0].labels == {"speaker": 2}
  u = train.utterances[0]
  assert (u.start, u.stop) == (1000, 9600 - 1000)             # h# trimmed
  assert list(u.intervals.labels) == [timit.PHONES_39.index(p) if p else fl.UNKNOWN
                                      for p in ["sil", "ao", None, "s", "sil", "sil"]]
  custom = timit.load_utterances(str(root), "test", test_speakers=("MZZZ0",))
  assert [x.uid for x in custom.utterances] == ["MZZZ0/SX1"]


def test_timit_bad_trees(tmp_path):
  root = timit_tree(tmp_path / "TIMIT")
  timit_utterance(root, "TRAIN", "DR1", "FCJF0", "SX5", phn=False)
  with pytest.raises(DataError, match="SX5.WAV has no phone alignment"):
    timit.load_utterances(str(root), "train")
  (root / "TRAIN" / "DR1" / "FCJF0" / "SX5.PHN").write_text("0 100 h#\n100 oops\n")
  with pytest.raises(DataError, match=r"SX5.PHN line 2"):
    timit.load_utterances(str(root), "train")
  with pytest.raises(MissingInputError):
    timit.load_utterances(str(tmp_path / "nope"), "train")
  with pytest.raises(DataError, match="not a TIMIT tree"):
    timit.load_utterances(str(tmp_path), "train")
  with pytest.raises(DataError, match="unknown TIMIT split"):
    timit.load_utterances(str(root), "dev")


# --- VOC-ALS -----------------------------------------------------------------------------------------------------

def test_voc_als_layout_metadata_and_skips(tmp_path):
  root = voc_als_tree(tmp_path / "voc")
  listing = voc_als.load_utterances(str(root))
  by = {u.uid: u for u in listing.utterances}
  assert sorted(by) == ["CT001_phonationA", "PZ002_phonationE", "PZ002_rhythmKA"]
  assert listing.names["speaker"] == ["CT001", "PZ002"]
  assert by["CT001_phonationA"].labels == {"speaker": 0, "task": 0, "king_stage": -1, "category": 0}
  assert by["PZ002_rhythmKA"].labels == {"speaker": 1, "task": voc_als.TASKS.index("KA"), "king_stage": 3,
                                         "category": 1}
  assert by["PZ002_phonationE"].start == 16000                       # the first second is skipped
  assert list(by["PZ002_phonationE"].intervals.labels) == [voc_als.TASKS.index("E")]
  assert [p.endswith("notes.wav") for p in listing.skipped["no_task_in_name"]] == [True]
  assert voc_als.parse_name("ID000_diadochokinesisPA") == ("ID000", voc_als.TASKS.index("PA"))
  with pytest.raises(DataError, match="only the split 'test'"):
    voc_als.load_utterances(str(root), "train")


def test_voc_als_bad_metadata(tmp_path):
  root = voc_als_tree(tmp_path / "voc", ["ID,Category", "CT001,HC"])
  with pytest.raises(DataError, match="PZ002 has no row in the metadata sheet"):
    voc_als.load_utterances(str(root))
  root2 = voc_als_tree(tmp_path / "voc2", ["Name,Category", "CT001,HC"])
  with pytest.raises(DataError, match="no speaker column"):
    voc_als.load_utterances(str(root2))
  root3 = tmp_path / "voc3"
  write_wav(root3 / "CT001_phonationA.wav", noise(1.2, 0))
  with pytest.raises(MissingInputError, match="no metadata sheet"):
    voc_als.load_utterances(str(root3))


@pytest.mark.skipif(importlib.util.find_spec("openpyxl") is not None, reason="openpyxl installed")
def test_voc_als_xlsx_without_openpyxl_asks_for_csv(tmp_path):
  root = tmp_path / "voc"
  write_wav(root / "CT001_phonationA.wav", noise(1.2, 0))
  (root / "VOC-ALS.xlsx").write_bytes(b"PK\x03\x04")
  with pytest.raises(DataError, match="export the sheet as CSV"):
    voc_als.load_utterances(str(root))


# --- IEMOCAP -----------------------------------------------------------------------------------------------------

def test_iemocap_labels_skips_and_phones(tmp_path):
  root = iemocap_tree(tmp_path / "IEMOCAP_full_release", per_group=20, seconds=1.1)   # 18 / 1 / 1 per group
  lists = {s: iemocap.load_utterances(str(root), s, seed=3) for s in iemocap.SPLITS}
  names = lists["train"].names
  assert names["speaker"] == ["Ses01F", "Ses01M", "Ses02F", "Ses02M"]
  assert names["emotion"] == ["ang", "hap", "neu", "sad"]
  skipped = lists["train"].skipped
  assert len(skipped["emotion_xxx"]) == 2 and len(skipped["no_alignment"]) == 2
  uids = [u.uid for s in iemocap.SPLITS for u in lists[s].utterances]
  assert len(uids) == len(set(uids)) == 2 * 2 * 3 * 20           # sessions x genders x emotions x per group
  emos = {u.labels["emotion"] for u in lists["train"].utterances}
  assert emos == {0, 1, 2}                                          # exc merged into hap, no xxx
  u = lists["train"].utterances[0]
  assert u.start == 16000 and iemocap.speaker_of("Ses01F_impro01_M003") == "Ses01M"
  p = iemocap.PHONES.index
  assert list(u.intervals.labels) == [p("sil"), p("ah"), p("nsn"), p("s")]
  assert list(u.intervals.starts[:2]) == [0, 3200] and u.intervals.stops[0] == 3200
  again = iemocap.load_utterances(str(root), "validation", seed=3)
  assert [x.uid for x in again.utterances] == [x.uid for x in lists["validation"].utterances]


def test_iemocap_split_is_stratified_and_seeded():
  groups = [(s, e) for s in range(2) for e in range(2) for _ in range(40)]
  a = iemocap.split_indices(groups, seed=0)
  assert [len(a[s]) for s in iemocap.SPLITS] == [144, 8, 8]
  for s in iemocap.SPLITS:
    assert {groups[i] for i in a[s]} == set(groups)                  # every speaker x emotion in every split
  assert not set(a["train"]) & set(a["test"])
  b, c = iemocap.split_indices(groups, seed=0), iemocap.split_indices(groups, seed=1)
  assert all(np.array_equal(a[s], b[s]) for s in a) and not np.array_equal(a["test"], c["test"])


def test_iemocap_missing_emotion_file_or_entry(tmp_path):
  root = iemocap_tree(tmp_path / "I", per_group=1)
  iemocap_utterance(root, 1, "Ses01F_impro01", "Ses01F_impro01_F099", seed=9)
  with pytest.raises(DataError, match="Ses01F_impro01_F099.wav has no emotion"):
    iemocap.load_utterances(str(root), "train")
  iemocap_utterance(root, 1, "Ses01F_script02", "Ses01F_script02_F000", seed=9)
  (root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F099.wav").unlink()
  with pytest.raises(DataError, match="Ses01F_script02: emotion file .* is missing"):
    iemocap.load_utterances(str(root), "train")
