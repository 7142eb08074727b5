"""Tiny fake copies of the separation corpora layouts (MUSDB18, MIR-1K, DSD100, ccMixter) for tests.

Stems are short tones/noise written as float WAVs (exact values), at the rate and channel count asked for.
"""
from __future__ import annotations

import pathlib

import numpy as np
import soundfile as sf


def tone(seconds: float, sr: int, freq: float, channels: int = 1, amp: float = 0.3, seed: int = 0) -> np.ndarray:
  """[T, channels] a sine plus a little noise (every channel slightly different)."""
  t = np.arange(int(round(seconds * sr))) / sr
  rng = np.random.default_rng(seed)
  out = [amp * np.sin(2 * np.pi * freq * t + c) + 0.01 * rng.standard_normal(t.size) for c in range(channels)]
  return np.stack(out, axis=1)


def write(path, audio: np.ndarray, sr: int) -> pathlib.Path:
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  sf.write(str(path), audio, sr, subtype="FLOAT")
  return path


def stems_folder(folder, names: dict[str, str], seconds: float, sr: int, channels: int,
                 mixture_name: str | None = "mixture") -> dict[str, np.ndarray]:
  """Writes `names` (file stem -> role 'voice'|'music') and, when mixture_name, their sum; returns the arrays."""
  folder = pathlib.Path(folder)
  arrays = {}
  for i, (stem, _) in enumerate(names.items()):
    arrays[stem] = tone(seconds, sr, 220.0 * (i + 1), channels, seed=i)
    write(folder / f"{stem}.wav", arrays[stem], sr)
  if mixture_name:
    arrays[mixture_name] = sum(arrays[s] for s in names)
    write(folder / f"{mixture_name}.wav", arrays[mixture_name], sr)
  return arrays


MUSDB_STEMS = {"vocals": "voice", "drums": "music", "bass": "music", "other": "music"}


def musdb(root, *, sr: int = 16000, channels: int = 1, seconds: float = 0.5) -> pathlib.Path:
  """train: 'Triviul - Angelsaint' (official validation) + 'Alpha - One', 'Beta - Two'; test: 'Gamma - Three'."""
  root = pathlib.Path(root)
  for part, name in [("train", "Triviul - Angelsaint"), ("train", "Alpha - One"), ("train", "Beta - Two"),
                     ("test", "Gamma - Three")]:
    stems_folder(root / part / name, MUSDB_STEMS, seconds, sr, channels)
  return root


def dsd100(root, *, sr: int = 16000, channels: int = 1, seconds: float = 0.5) -> pathlib.Path:
  """Dev: 3 tracks (the first, sorted, is validation), Test: 1 track."""
  root = pathlib.Path(root)
  for part, name in [("Dev", "001 - A"), ("Dev", "002 - B"), ("Dev", "003 - C"), ("Test", "004 - D")]:
    arrays = stems_folder(root / "Sources" / part / name, {"vocals": "voice", "bass": "music", "drums": "music",
                                                           "other": "music"}, seconds, sr, channels, None)
    write(root / "Mixtures" / part / name / "mixture.wav", sum(arrays.values()), sr)
  return root


def ccmixter(root, *, sr: int = 16000, channels: int = 1, seconds: float = 0.5, num: int = 5) -> pathlib.Path:
  """`num` songs: source-01 accompaniment, source-02 voice, mix.wav their sum."""
  root = pathlib.Path(root)
  for i in range(num):
    stems_folder(root / f"song{i:02d}", {"source-01": "music", "source-02": "voice"}, seconds, sr, channels,
                 "mix")
  return root


def mir1k(root, *, sr: int = 16000, seconds: float = 0.5) -> pathlib.Path:
  """Wavfile/: 2 clips of abjones, 1 of amy (train side), 2 of another singer (test); left music, right voice."""
  root = pathlib.Path(root)
  for i, name in enumerate(["abjones_1_01", "abjones_1_02", "amy_3_01", "bobon_2_01", "yifen_4_02"]):
    music = tone(seconds, sr, 110.0, seed=i)[:, 0]
    voice = tone(seconds, sr, 330.0, seed=100 + i)[:, 0]
    write(root / "Wavfile" / f"{name}.wav", np.stack([music, voice], axis=1), sr)
  return root
