"""Corpus loaders on tiny fake trees of each layout; resampling; audio I/O; every bad input -> one DataError."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

import fake_separation_trees as fake
from decompjax.audio import resample as resample_lib
from decompjax.audio import wav as wav_lib
from decompjax.data import separation_corpora as sc
from decompjax.errors import DataError, MissingInputError

LOGGER = "decompjax.data.separation_corpora"


def test_resample_exact_ratio_and_content():
  assert resample_lib.ratio(44100, 16000) == (160, 441)
  assert resample_lib.resampled_length(44100, 44100, 16000) == 16000
  t_in, t_out = np.arange(44100) / 44100, np.arange(16000) / 16000
  out = resample_lib.resample(np.sin(2 * np.pi * 1000 * t_in).astype(np.float32), 44100, 16000)
  assert out.dtype == np.float32 and out.shape == (16000,)
  assert resample_lib.resample(np.zeros(441), 44100, 16000).dtype == np.float64
  np.testing.assert_allclose(out[500:-500], np.sin(2 * np.pi * 1000 * t_out)[500:-500], atol=2e-3)
  stereo = np.stack([np.sin(2 * np.pi * 300 * t_in), np.cos(2 * np.pi * 300 * t_in)], axis=1)
  assert resample_lib.resample(stereo, 44100, 16000).shape == (16000, 2)
  x = np.arange(5.0)
  np.testing.assert_array_equal(resample_lib.resample(x, 16000, 16000), x)
  with pytest.raises(ValueError, match="orig_sr"):
    resample_lib.ratio(44100.5, 16000)


def test_read_and_write_audio_channels(tmp_path):
  audio = fake.tone(0.1, 16000, 440.0, channels=2)
  path = wav_lib.write_audio(tmp_path / "a.wav", audio, 16000)
  back, sr = wav_lib.read_audio_channels(path)
  assert sr == 16000 and back.shape == audio.shape and back.dtype == np.float32
  np.testing.assert_allclose(back, audio, atol=1e-7)  # float WAV: no rescaling
  with pytest.raises(ValueError, match="clip"):
    wav_lib.write_audio(tmp_path / "b.wav", 5 * audio, 16000, subtype="PCM_16")
  with pytest.raises(MissingInputError, match="nope.wav"):
    wav_lib.read_audio_channels(tmp_path / "nope.wav")


def test_musdb18_splits_stems_and_one_note_for_stereo_44k(tmp_path, caplog):
  root = fake.musdb(tmp_path / "musdb", sr=44100, channels=2, seconds=0.3)
  assert [f.name for f in sc.track_files("musdb18", root, "validation")] == ["Triviul - Angelsaint"]
  assert [f.name for f in sc.track_files("musdb18", root, "train")] == ["Alpha - One", "Beta - Two"]
  assert len(sc.track_files("musdb18", root, "all")) == 4
  with caplog.at_level(logging.INFO, logger=LOGGER):
    tracks = sc.load_tracks("musdb18", root, "test")
  notes = [r for r in caplog.records if r.name == LOGGER]
  assert len(notes) == 1 and notes[0].levelno == logging.WARNING  # one note, shown by default
  assert "down-mixed 5 stereo" in notes[0].getMessage() and "from 44100 Hz" in notes[0].getMessage()
  (track,) = tracks
  assert track.name == "Gamma - Three" and track.sample_rate == 16000
  assert track.voice.shape == (resample_lib.resampled_length(int(0.3 * 44100), 44100, 16000),)
  d = root / "test" / "Gamma - Three"
  read = {s: sf.read(str(d / f"{s}.wav"), dtype="float32")[0].mean(axis=1) for s in fake.MUSDB_STEMS}
  np.testing.assert_allclose(track.voice, resample_lib.resample(read["vocals"], 44100, 16000), atol=1e-5)
  music = read["drums"] + read["bass"] + read["other"]
  np.testing.assert_allclose(track.music, resample_lib.resample(music, 44100, 16000), atol=1e-5)
  np.testing.assert_allclose(track.mixture, track.voice + track.music, atol=1e-4)  # the fake mixture is the sum


def test_mir1k_channels_singer_split_and_no_note_at_16k(tmp_path, caplog):
  root = fake.mir1k(tmp_path / "mir")
  assert [f.name for f in sc.track_files("mir1k", root, "validation")] == ["abjones_1_01"]
  assert [f.name for f in sc.track_files("mir1k", root, "train")] == ["abjones_1_02", "amy_3_01"]
  assert [f.name for f in sc.track_files("mir1k", root, "test")] == ["bobon_2_01", "yifen_4_02"]
  with caplog.at_level(logging.INFO, logger=LOGGER):
    (track, _) = sc.load_tracks("mir1k", root, "test")
  assert not [r for r in caplog.records if r.name == LOGGER]  # nothing converted: nothing to report
  raw, _ = sf.read(str(root / "Wavfile" / "bobon_2_01.wav"), dtype="float32")
  np.testing.assert_array_equal(track.music, raw[:, 0])
  np.testing.assert_array_equal(track.voice, raw[:, 1])
  np.testing.assert_array_equal(track.mixture, raw[:, 0] + raw[:, 1])


def test_dsd100_and_ccmixter_layouts(tmp_path):
  root = fake.dsd100(tmp_path / "dsd")
  assert [f.name for f in sc.track_files("dsd100", root, "validation")] == ["001 - A"]
  assert [f.name for f in sc.track_files("dsd100", root, "train")] == ["002 - B", "003 - C"]
  (track,) = sc.load_tracks("dsd100", root, "test")
  vocals, _ = sf.read(str(root / "Sources" / "Test" / "004 - D" / "vocals.wav"), dtype="float32")
  np.testing.assert_array_equal(track.voice, vocals)
  cc = fake.ccmixter(tmp_path / "cc", num=6)
  assert [f.name for f in sc.track_files("ccmixter", cc, "test")] == ["song00", "song05"]
  assert [f.name for f in sc.track_files("ccmixter", cc, "validation")] == ["song01"]
  track = sc.load_tracks("ccmixter", cc, "validation")[0]
  voice, _ = sf.read(str(cc / "song01" / "source-02.wav"), dtype="float32")
  music, _ = sf.read(str(cc / "song01" / "source-01.wav"), dtype="float32")
  np.testing.assert_array_equal(track.voice, voice)
  np.testing.assert_array_equal(track.music, music)
  assert len(sc.load_tracks("ccmixter", cc, "train", limit=2)) == 2


def _bad_musdb(tmp_path, damage):
  root = fake.musdb(tmp_path / "m")
  track = root / "test" / "Gamma - Three"
  damage(track)
  return root


@pytest.mark.parametrize("damage, words", [
    (lambda d: fake.write(d / "vocals.wav", np.zeros((8000, 1)), 16000), ["vocals.wav", "silent"]),
    (lambda d: fake.write(d / "bass.wav", fake.tone(0.2, 16000, 90.0), 16000), ["bass.wav", "shorter"]),
    (lambda d: fake.write(d / "other.wav", fake.tone(0.5, 22050, 90.0), 22050), ["sample rates differ",
                                                                                 "other.wav 22050"]),
    (lambda d: (d / "drums.wav").write_bytes(b""), ["drums.wav", "0 bytes"]),
    (lambda d: fake.write(d / "vocals.wav", fake.tone(0.5, 16000, 440.0, channels=3), 16000),
     ["vocals.wav", "3 channels"]),
    (lambda d: (d / "drums.wav").write_bytes(b"RIFF not really a wav"), ["drums.wav", "cannot read"]),
])
def test_bad_stems_are_data_errors_naming_the_file(tmp_path, damage, words):
  root = _bad_musdb(tmp_path, damage)
  with pytest.raises(DataError) as err:
    sc.load_tracks("musdb18", root, "test")
  for word in words:
    assert word in str(err.value)


def test_bad_mir1k_files_and_layouts(tmp_path):
  root = fake.mir1k(tmp_path / "mir")
  fake.write(root / "Wavfile" / "bobon_2_01.wav", fake.tone(0.5, 16000, 200.0), 16000)  # mono
  with pytest.raises(DataError, match="bobon_2_01.wav has 1 channel"):
    sc.load_tracks("mir1k", root, "test")
  music = fake.tone(0.5, 16000, 110.0)[:, 0]
  fake.write(root / "Wavfile" / "bobon_2_01.wav", np.stack([music, 0 * music], axis=1), 16000)
  with pytest.raises(DataError, match="voice .right channel. of .*bobon_2_01.wav is silent"):
    sc.load_tracks("mir1k", root, "test")
  with pytest.raises(MissingInputError, match="Wavfile"):
    sc.track_files("mir1k", tmp_path, "train")
  with pytest.raises(MissingInputError, match="not found"):
    sc.track_files("ccmixter", tmp_path / "absent", "train")
  with pytest.raises(DataError, match="unknown separation corpus"):
    sc.track_files("irmas", tmp_path, "train")
  (tmp_path / "empty").mkdir()
  with pytest.raises(DataError, match="no tracks for split 'test'"):
    sc.load_tracks("ccmixter", tmp_path / "empty", "test")
  cc = fake.ccmixter(tmp_path / "cc", num=1)
  (cc / "song00" / "source-02.wav").unlink()
  with pytest.raises(MissingInputError, match="source-02.wav"):
    sc.load_tracks("ccmixter", cc, "test")
