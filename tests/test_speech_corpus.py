"""LibriSpeech-layout corpus reader: layouts, resampling, crops, and bad files reported (never silently)."""
import logging

import numpy as np
import pytest
import soundfile as sf

from decompjax.audio import speech_features as features
from decompjax.data import speech_corpus as sc

FEATS = features.from_preset("notebook")


def _tone(seconds, sr, f0, seed):
  rng = np.random.default_rng(seed)
  t = np.arange(int(seconds * sr)) / sr
  return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  root = tmp_path_factory.mktemp("corpus")
  # speaker 103: LibriSpeech layout, flac, with a transcript file
  chap = root / "103" / "1240"
  chap.mkdir(parents=True)
  for u in range(2):
    sf.write(chap / f"103-1240-000{u}.flac", _tone(2.2, 16000, 150, u), 16000)
  (chap / "103-1240.trans.txt").write_text("103-1240-0000 HELLO\n")
  # speaker 19: flat layout, wav at 22.05 kHz (resampled), a stereo file, plus the bad files
  flat = root / "19"
  flat.mkdir()
  sf.write(flat / "a.wav", _tone(3.3, 22050, 220, 5), 22050)
  sf.write(flat / "b.wav", np.stack([_tone(1.5, 16000, 220, 6)] * 2, 1), 16000)
  (flat / "corrupt.flac").write_bytes(b"not audio at all" * 64)
  (flat / "empty.wav").write_bytes(b"")
  sf.write(flat / "short.wav", _tone(0.5, 16000, 220, 7), 16000)
  (flat / "notes.mp4").write_bytes(b"\x00" * 32)
  (root / "stray.wav").write_bytes(b"")
  return root


def test_reads_both_layouts_resamples_and_crops(corpus):
  cc = sc.load_crops(str(corpus), FEATS)
  assert cc.speakers == ["103", "19"]
  assert cc.mel.shape[1:] == (64, 80) and cc.mel.dtype == np.float32
  # 2.2 s at 16 kHz -> 138 frames -> 2 crops each; 3.3 s at 22.05 kHz -> 16 kHz: 207 frames -> 3; 1.5 s -> 1
  per_speaker = np.bincount(cc.speaker)
  assert per_speaker.tolist() == [4, 4]
  assert cc.report.files_used == 4 and len(cc.files) == 4
  assert np.isfinite(cc.mel).all()


def test_bad_files_are_reported_with_paths(corpus, caplog):
  with caplog.at_level(logging.WARNING):
    cc = sc.load_crops(str(corpus), FEATS)
  sk = cc.report.skipped
  assert [p.rsplit("/", 1)[1] for p in sk["unreadable"]] == ["corrupt.flac"]
  assert [p.rsplit("/", 1)[1] for p in sk["empty"]] == ["empty.wav"]
  assert [p.rsplit("/", 1)[1] for p in sk["too_short"]] == ["short.wav"]
  assert sorted(p.rsplit("/", 1)[1] for p in sk["wrong_format"]) == ["notes.mp4", "stray.wav"]
  assert cc.report.num_skipped == 5
  text = caplog.text
  assert "skipped 1 unreadable" in text and "corrupt.flac" in text and "skipped 2 wrong-format" in text
  assert "trans.txt" not in text  # LibriSpeech transcripts are expected, not errors


def test_splits_hold_out_whole_files(corpus):
  train = sc.load_crops(str(corpus), FEATS, split="train", holdout_every=2)
  val = sc.load_crops(str(corpus), FEATS, split="validation", holdout_every=2)
  assert not set(train.files) & set(val.files)
  assert len(train.files) + len(val.files) == 4


def test_fewer_than_two_speakers_is_an_error(tmp_path):
  (tmp_path / "only").mkdir()
  sf.write(tmp_path / "only" / "x.wav", _tone(2.0, 16000, 100, 0), 16000)
  with pytest.raises(ValueError, match="at least 2 are needed"):
    sc.load_crops(str(tmp_path), FEATS)


def test_missing_folder_is_an_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="not found"):
    sc.load_crops(str(tmp_path / "nope"), FEATS)


def test_tf_data_source(corpus):
  cc = sc.load_crops(str(corpus), FEATS)
  ds = sc.make_dataset(cc, process_index=1, process_count=2)
  rows = list(ds.as_numpy_iterator())
  assert len(rows) == 4 and rows[0]["mel"].shape == (64, 80)
  np.testing.assert_array_equal(rows[0]["mel"], cc.mel[1])


def test_feature_presets_and_crop_rule():
  wav = _tone(4.0, 16000, 180, 1)
  nb = features.mel_spectrogram(wav, features.from_preset("notebook"))
  pp = features.mel_spectrogram(wav, features.from_preset("paper"))
  assert nb.shape == pp.shape == (1 + 64000 // 256, 80)
  assert 0.0 <= pp.min() and pp.max() <= 1.0          # AutoVC scaling is clipped to [0, 1]
  # (dB + 100) / 200 with top_db 80: values within a 0.4 band
  assert nb.max() - nb.min() <= 0.4 + 1e-6
  # notebook crop rule: starts 0, 64, 128 < T - 64 = 187 -> 3 crops, no overlap
  crops = features.crop(nb)
  assert crops.shape == (3, 64, 80)
  np.testing.assert_array_equal(crops[1], nb[64:128])
  assert features.crop(nb[:64]).shape[0] == 0
  with pytest.raises(ValueError, match="preset"):
    features.from_preset("autovc")
