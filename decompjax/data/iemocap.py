"""IEMOCAP read from a local copy of IEMOCAP_full_release, for DecVAE (specs/decvae.md §3.2).

Layout: `<root>/Session1..5/sentences/wav/<dialog>/<utt>.wav`, emotions in
`<root>/SessionN/dialog/EmoEvaluation/<dialog>.txt` (or its `Majority/` subfolder, which upstream reads when
present), phone alignments in `<root>/SessionN/sentences/ForcedAlignment/<dialog>/<utt>.phseg` (Sphinx segments of
10 ms frames: `SFrm EFrm SegAScr Phone`). Speaker = session + the utterance's own gender letter (Ses01F_impro01_M003
-> Ses01M), 10 speakers.

Labels: 'emotion' over 4 classes (EMOTIONS; exc merged into hap; other emotions are a reported skip), 'speaker';
frame-level 'phoneme' over PHONES (CMU phones without stress, 'sil', and 'nsn' for non-speech tokens such as
+BREATHING+). The first second of each file is skipped (upstream). Splits: 90/5/5 of every speaker x emotion
group, shuffled with a seeded generator (every speaker in every split where the group is large enough).
A dialog without its EmoEvaluation file, or an utterance missing from it, is a DataError naming the file; an
utterance without a .phseg alignment (a few in the release) is a reported skip.
"""
from __future__ import annotations

import pathlib
import re

import numpy as np

from decompjax.data.frame_labels import CorpusListing, Intervals, LabelledUtterance
from decompjax.errors import DataError, MissingInputError

SAMPLE_RATE = 16_000
SPLITS = ("train", "validation", "test")
EMOTIONS = ("ang", "hap", "neu", "sad")            # sorted, as upstream's emotion dict
_MERGE = {"exc": "hap"}
CMU_PHONES = ("AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH",
              "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W",
              "Y", "Z", "ZH")
PHONES = tuple(p.lower() for p in CMU_PHONES) + ("sil", "nsn")
SKIP_SECONDS = 1.0
FRAME_SECONDS = 0.01                                 # Sphinx alignment frame
_EMO_LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(\S+)\s+(\S+)")


def phone_id(token: str) -> int:
  """A phseg phone token -> index in PHONES ('AH0(B)' -> 'ah'; SIL / SIL-like -> 'sil'; anything else -> 'nsn')."""
  base = re.sub(r"[\d(].*$", "", token.strip()).upper()
  if base in CMU_PHONES:
    return PHONES.index(base.lower())
  return PHONES.index("sil") if base in ("SIL", "SP", "<S>", "</S>", "<SIL>") else PHONES.index("nsn")


def read_phseg(path: pathlib.Path) -> Intervals:
  """Phone intervals in samples; a file without segment rows is a DataError naming it."""
  starts, stops, labels = [], [], []
  for line in path.read_text(errors="replace").splitlines():
    parts = line.split()
    if len(parts) >= 4 and parts[0].isdigit() and parts[1].isdigit():
      starts.append(int(parts[0]) * FRAME_SECONDS * SAMPLE_RATE)
      stops.append((int(parts[1]) + 1) * FRAME_SECONDS * SAMPLE_RATE)
      labels.append(phone_id(parts[3]))
  if not starts:
    raise DataError(f"IEMOCAP alignment {path} has no 'SFrm EFrm SegAScr Phone' rows")
  return Intervals(np.round(starts).astype(np.int64), np.round(stops).astype(np.int64), np.array(labels, np.int32))


def read_emotions(path: pathlib.Path) -> dict[str, str]:
  """utterance -> emotion code of an EmoEvaluation file ('[start - end]\\tUTT\\temo\\t[v, a, d]' lines)."""
  out = {}
  for line in path.read_text(errors="replace").splitlines():
    m = _EMO_LINE.match(line.strip())
    if m:
      out[m.group(1)] = m.group(2).lower()
  return out


def speaker_of(utt: str) -> str:
  """Ses01F_impro01_M003 -> Ses01M (session + the speaking actor's gender)."""
  return utt[:5] + utt.rsplit("_", 1)[-1][0].upper()


def _emotion_file(session: pathlib.Path, dialog: str) -> pathlib.Path:
  emo = session / "dialog" / "EmoEvaluation"
  for p in (emo / "Majority" / f"{dialog}.txt", emo / f"{dialog}.txt"):
    if p.is_file():
      return p
  raise DataError(f"IEMOCAP dialog {dialog}: emotion file {emo / (dialog + '.txt')} is missing")


def _all_utterances(base: pathlib.Path) -> CorpusListing:
  sessions = sorted(p for p in base.iterdir() if p.is_dir() and re.fullmatch(r"Session\d", p.name))
  if not sessions:
    raise DataError(f"{base} is not an IEMOCAP release: no Session1..5 folders")
  listing = CorpusListing([], {"emotion": list(EMOTIONS), "phoneme": list(PHONES)})
  rows = []
  for session in sessions:
    wav_root = session / "sentences" / "wav"
    for dialog_dir in sorted(p for p in wav_root.iterdir() if p.is_dir()) if wav_root.is_dir() else []:
      emotions = read_emotions(_emotion_file(session, dialog_dir.name))
      for wav in sorted(dialog_dir.glob("*.wav")):
        if wav.name.startswith("."):
          continue
        if wav.stem not in emotions:
          raise DataError(f"IEMOCAP utterance {wav} has no emotion in "
                          f"{_emotion_file(session, dialog_dir.name)}")
        emo = _MERGE.get(emotions[wav.stem], emotions[wav.stem])
        if emo not in EMOTIONS:
          listing.skip(f"emotion_{emo}", str(wav))
          continue
        phseg = session / "sentences" / "ForcedAlignment" / dialog_dir.name / f"{wav.stem}.phseg"
        if not phseg.is_file():
          listing.skip("no_alignment", str(wav))
          continue
        rows.append((wav, emo, read_phseg(phseg)))
  speakers = sorted({speaker_of(w.stem) for w, _, _ in rows})
  listing.names["speaker"] = speakers
  for wav, emo, iv in rows:
    listing.utterances.append(LabelledUtterance(
        uid=wav.stem, path=str(wav), intervals=iv, start=int(round(SKIP_SECONDS * SAMPLE_RATE)),
        labels={"speaker": speakers.index(speaker_of(wav.stem)), "emotion": EMOTIONS.index(emo)}))
  return listing


def split_indices(groups: list[tuple], seed: int, fractions=(0.90, 0.05)) -> dict[str, np.ndarray]:
  """Stratified 90/5/5 split: each group (speaker x emotion) shuffled by a seeded generator, its first 90 % to
  train, the next 5 % (floor) to validation, the rest to test."""
  rng = np.random.default_rng(seed)
  out = {s: [] for s in SPLITS}
  keys = sorted(set(groups))
  for key in keys:
    idx = np.array([i for i, g in enumerate(groups) if g == key])
    idx = idx[rng.permutation(len(idx))]
    n_train = int(len(idx) * fractions[0])
    n_val = int(len(idx) * fractions[1])
    out["train"] += idx[:n_train].tolist()
    out["validation"] += idx[n_train:n_train + n_val].tolist()
    out["test"] += idx[n_train + n_val:].tolist()
  return {s: np.sort(np.asarray(v, np.int64)) for s, v in out.items()}


def load_utterances(root: str, split: str, *, seed: int = 0) -> CorpusListing:
  """The utterances of one split (train / validation / test, see split_indices)."""
  if split not in SPLITS:
    raise DataError(f"unknown IEMOCAP split {split!r}; valid: {', '.join(SPLITS)}")
  base = pathlib.Path(root).expanduser()
  if not base.is_dir():
    raise MissingInputError(f"IEMOCAP folder not found: {base}")
  listing = _all_utterances(base)
  if not listing.utterances:
    raise DataError(f"IEMOCAP folder {base} has no usable utterance (4 emotions with an alignment)")
  groups = [(u.labels["speaker"], u.labels["emotion"]) for u in listing.utterances]
  keep = split_indices(groups, seed)[split]
  listing.utterances = [listing.utterances[i] for i in keep]
  if not listing.utterances:
    raise DataError(f"IEMOCAP split {split!r} of {base} is empty (too few utterances per speaker x emotion)")
  return listing
