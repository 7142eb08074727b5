"""Tiny corpus trees in the published TIMIT, VOC-ALS and IEMOCAP layouts (tests of the DecVAE loaders and data)."""
from __future__ import annotations

import pathlib

import numpy as np
import soundfile as sf

SR = 16_000


def noise(seconds: float, seed: int) -> np.ndarray:
  return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))


def write_wav(path: pathlib.Path, audio: np.ndarray, subtype: str = "PCM_16") -> pathlib.Path:
  path.parent.mkdir(parents=True, exist_ok=True)
  sf.write(str(path), np.asarray(audio, np.float64), SR, subtype=subtype)
  return path


def timit_utterance(root: pathlib.Path, part: str, dr: str, spk: str, utt: str, seconds: float = 0.6,
                    seed: int = 0, audio=None, phn: bool = True) -> pathlib.Path:
  """A WAV of `seconds` with a PHN: h# 1000 samples, then 'aa' / 'q' / 's' / 'bcl' thirds, then h# 1000 samples."""
  n = int(seconds * SR)
  wav = write_wav(root / part / dr / spk / f"{utt}.WAV", noise(seconds, seed) if audio is None else audio)
  if phn:
    inner = np.linspace(1000, n - 1000, 5).astype(int)
    rows = [(0, 1000, "h#")] + [(int(a), int(b), p) for a, b, p in zip(inner[:-1], inner[1:],
                                                                      ["aa", "q", "s", "bcl"])]
    rows.append((n - 1000, n, "h#"))
    wav.with_suffix(".PHN").write_text("".join(f"{a} {b} {p}\n" for a, b, p in rows))
  return wav


def timit_tree(root: pathlib.Path) -> pathlib.Path:
  timit_utterance(root, "TRAIN", "DR1", "FCJF0", "SI1027", seed=1)
  timit_utterance(root, "TRAIN", "DR1", "FCJF0", "SA1", seed=2)          # dropped
  timit_utterance(root, "TRAIN", "DR2", "MKLW0", "SX101", seed=3)
  timit_utterance(root, "TEST", "DR1", "FAKS0", "SI943", seed=4)          # Kaldi dev
  timit_utterance(root, "TEST", "DR1", "MDAB0", "SX139", seed=5)          # Kaldi core test
  timit_utterance(root, "TEST", "DR3", "MZZZ0", "SX1", seed=6)            # neither list
  return root


def voc_als_tree(root: pathlib.Path, sheet_rows=None) -> pathlib.Path:
  write_wav(root / "phonationA" / "CT001_phonationA.wav", noise(2.0, 1))
  write_wav(root / "rhythmKA" / "PZ002_rhythmKA.wav", noise(2.0, 2))
  write_wav(root / "phonationE" / "PZ002_phonationE.wav", noise(2.0, 3))
  write_wav(root / "misc" / "notes.wav", noise(1.5, 4))                  # no task in the name: skipped
  rows = sheet_rows or ["ID,Sex,Category,King's clinical staging,ALSFRS-R_TotalScore",
                        "CT001,F,HC,,", "PZ002,M,ALS,3,35"]
  (root / "VOC-ALS.csv").write_text("\n".join(rows) + "\n")
  return root


def iemocap_utterance(root: pathlib.Path, session: int, dialog: str, utt: str, seed: int, phseg: bool = True,
                      seconds: float = 1.6) -> None:
  s = root / f"Session{session}" / "sentences"
  write_wav(s / "wav" / dialog / f"{utt}.wav", noise(seconds, seed))
  if phseg:
    frames = int(seconds * 100)
    body = [f"{0:>9} {19:>6} {-1000:>10} SIL", f"{20:>9} {59:>6} {-2000:>10} AH0(B)",
            f"{60:>9} {99:>6} {-2000:>10} +BREATH+", f"{100:>9} {frames - 1:>6} {-2000:>10} S"]
    p = s / "ForcedAlignment" / dialog / f"{utt}.phseg"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\t SFrm  EFrm    SegAScr Phone\n" + "\n".join(body) + "\n Total score: -7000\n")


def iemocap_tree(root: pathlib.Path, per_group: int = 4, seconds: float = 1.6) -> pathlib.Path:
  """Session1 and Session2, both genders, emotions neu / exc (-> hap) / ang, plus one xxx and one unaligned."""
  for ses in (1, 2):
    dialog = f"Ses0{ses}F_impro01"
    lines = ["% header", ""]
    k = 0
    for gender in "FM":
      for emo in ("neu", "exc", "ang"):
        for _ in range(per_group):
          utt = f"{dialog}_{gender}{k:03d}"
          iemocap_utterance(root, ses, dialog, utt, seed=100 * ses + k, seconds=seconds)
          lines.append(f"[{k:.4f} - {k + 1:.4f}]\t{utt}\t{emo}\t[2.5000, 2.5000, 2.5000]")
          k += 1
    for emo, phseg in (("xxx", True), ("neu", False)):
      utt = f"{dialog}_M{k:03d}"
      iemocap_utterance(root, ses, dialog, utt, seed=100 * ses + k, phseg=phseg, seconds=seconds)
      lines.append(f"[{k:.4f} - {k + 1:.4f}]\t{utt}\t{emo}\t[2.5000, 2.5000, 2.5000]")
      k += 1
    emo_file = root / f"Session{ses}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
    emo_file.parent.mkdir(parents=True, exist_ok=True)
    emo_file.write_text("\n".join(lines) + "\n")
  return root
