"""TIMIT read from a local copy in its published layout, for DecVAE (specs/decvae.md §3.2).

Layout: `<root>/TRAIN|TEST/<DR>/<SPEAKER>/<UTT>.WAV` with `<UTT>.PHN` beside it (any letter case; the WAV may be
NIST SPHERE or RIFF, libsndfile reads both). SA sentences are dropped. Leading / trailing silence (h#) is trimmed
using the phone alignment. Splits follow Kaldi's recipe: 'train' = every TRAIN speaker, 'validation' = the 50
dev speakers and 'test' = the 24 core-test speakers, both carved out of TEST (the lists below are Kaldi's
conf/dev_spk.list and conf/test_spk.list; pass other lists to `load_utterances` to change the split).
Phones: 61 -> 48 (Lee & Hon) -> 39 classes for the 'phoneme' frame label, named as upstream's
timit_phon39_dict (cl/vcl/epi -> sil, el -> l, en -> n, zh -> sh, aa -> ao, ih -> ix, ah -> ax); the glottal
stop q has no class and its samples are labelled unknown (-1). A WAV without its .PHN is a DataError naming it.
"""
from __future__ import annotations

import pathlib

import numpy as np

from decompjax.data.frame_labels import UNKNOWN, CorpusListing, Intervals, LabelledUtterance
from decompjax.errors import DataError, MissingInputError

SPLITS = ("train", "validation", "test")
DEV_SPEAKERS = (
    "FAKS0", "MMDB1", "MBDG0", "FEDW0", "MTDT0", "FSEM0", "MDVC0", "MRJM4", "MJSW0", "MTEB0", "FDAC1", "MMDM2",
    "MBWM0", "MGJF0", "MTHC0", "MBNS0", "MERS0", "FCAL1", "MREB0", "MJFC0", "FJEM0", "MPDF0", "MCSH0", "MGLB0",
    "MWJG0", "MMJR0", "FMAH0", "MMWH0", "FGJD0", "MRJR0", "MGWT0", "FCMH0", "FADG0", "MRTK0", "FNMR0", "MDLS0",
    "FDRW0", "FJSJ0", "FJMG0", "FMML0", "MJAR0", "FKMS0", "FDMS0", "MTAA0", "FREW0", "MDLF0", "MRCS0", "MAJC0",
    "MROA0", "MRWS1")
CORE_TEST_SPEAKERS = (
    "MDAB0", "MWBT0", "FELC0", "MTAS1", "MWEW0", "FPAS0", "MJMP0", "MLNT0", "FPKT0", "MLLL0", "MTLS0", "FJLM0",
    "MBPM0", "MKLT0", "FNLP0", "MCMJ0", "MJDH0", "FMGD0", "MGRT0", "MNJM0", "FDHC0", "MJLN0", "MPAM0", "FMLD0")

# 61 -> 48 (Lee & Hon 1989); phones not listed map to themselves. q is removed.
FOLD_61_48 = {"ao": "aa", "ax-h": "ax", "axr": "er", "hv": "hh", "em": "m", "nx": "n", "eng": "ng", "ux": "uw",
              "bcl": "vcl", "dcl": "vcl", "gcl": "vcl", "pcl": "cl", "tcl": "cl", "kcl": "cl", "h#": "sil",
              "pau": "sil"}
PHONES_48 = ("aa", "ae", "ah", "ao", "aw", "ax", "ay", "b", "ch", "cl", "d", "dh", "dx", "eh", "el", "en", "epi",
             "er", "ey", "f", "g", "hh", "ih", "ix", "iy", "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r",
             "s", "sh", "sil", "t", "th", "uh", "uw", "v", "vcl", "w", "y", "z", "zh")
# 48 -> 39 with upstream's class names.
FOLD_48_39 = {"cl": "sil", "vcl": "sil", "epi": "sil", "el": "l", "en": "n", "zh": "sh", "aa": "ao", "ih": "ix",
              "ah": "ax"}
PHONES_39 = tuple(sorted({FOLD_48_39.get(p, p) for p in PHONES_48}))
_ID_39 = {p: i for i, p in enumerate(PHONES_39)}


def fold_phone(phone61: str) -> int:
  """TIMIT phone (61 set) -> 39-class id; UNKNOWN for q. An unknown symbol is a ValueError."""
  p = phone61.lower()
  if p == "q":
    return UNKNOWN
  p48 = FOLD_61_48.get(p, p)
  if p48 not in PHONES_48:
    raise ValueError(f"unknown TIMIT phone {phone61!r}")
  return _ID_39[FOLD_48_39.get(p48, p48)]


def read_phn(path: pathlib.Path) -> list[tuple[int, int, str]]:
  """(start, stop, phone) rows of a .PHN file, in samples; a malformed file is a DataError naming it."""
  rows = []
  for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
    if not line.strip():
      continue
    parts = line.split()
    try:
      start, stop, phone = int(parts[0]), int(parts[1]), parts[2]
      fold_phone(phone)
    except (IndexError, ValueError):
      raise DataError(f"TIMIT alignment {path} line {n}: expected '<start> <stop> <phone>', got {line!r}") from None
    rows.append((start, stop, phone))
  if not rows:
    raise DataError(f"TIMIT alignment {path} has no phone rows")
  return rows


def _child(folder: pathlib.Path, name: str) -> pathlib.Path | None:
  for p in folder.iterdir():
    if p.is_dir() and p.name.lower() == name:
      return p
  return None


def _speaker_dirs(root: pathlib.Path, part: str) -> list[pathlib.Path]:
  top = _child(root, part)
  if top is None:
    return []
  return sorted((s for dr in sorted(top.iterdir()) if dr.is_dir() for s in dr.iterdir() if s.is_dir()),
                key=lambda p: p.name.upper())


def _utterance(wav: pathlib.Path, speaker_id: int, trim: bool) -> LabelledUtterance:
  phn = next((wav.with_suffix(s) for s in (".PHN", ".phn") if wav.with_suffix(s).is_file()), None)
  if phn is None:
    raise DataError(f"TIMIT utterance {wav} has no phone alignment ({wav.with_suffix('.PHN').name} missing)")
  rows = read_phn(phn)
  starts = np.array([r[0] for r in rows], np.int64)
  stops = np.array([r[1] for r in rows], np.int64)
  labels = np.array([fold_phone(r[2]) for r in rows], np.int32)
  start, stop = 0, None
  if trim:
    if rows[0][2].lower() == "h#":
      start = int(stops[0])
    if rows[-1][2].lower() == "h#" and len(rows) > 1:
      stop = int(starts[-1])
  return LabelledUtterance(uid=f"{wav.parent.name.upper()}/{wav.stem.upper()}", path=str(wav),
                           labels={"speaker": speaker_id}, intervals=Intervals(starts, stops, labels), start=start,
                           stop=stop)


def load_utterances(root: str, split: str, *, dev_speakers=DEV_SPEAKERS, test_speakers=CORE_TEST_SPEAKERS,
                    trim_silence: bool = True) -> CorpusListing:
  """The utterances of one split ('train', 'validation', 'test'), sorted by speaker and name. Speaker ids index
  every speaker folder under TRAIN and TEST (sorted), so they mean the same speaker in every split."""
  if split not in SPLITS:
    raise DataError(f"unknown TIMIT split {split!r}; valid: {', '.join(SPLITS)}")
  base = pathlib.Path(root).expanduser()
  if not base.is_dir():
    raise MissingInputError(f"TIMIT folder not found: {base}")
  train, test = _speaker_dirs(base, "train"), _speaker_dirs(base, "test")
  if not train and not test:
    raise DataError(f"{base} is not a TIMIT tree: no TRAIN/<DR>/<SPEAKER> or TEST/<DR>/<SPEAKER> folders")
  names = sorted({p.name.upper() for p in train + test})
  wanted = {"validation": {s.upper() for s in dev_speakers}, "test": {s.upper() for s in test_speakers}}
  dirs = train if split == "train" else [p for p in test if p.name.upper() in wanted[split]]
  listing = CorpusListing([], {"speaker": names, "phoneme": list(PHONES_39)})
  for spk in dirs:
    for wav in sorted(p for p in spk.iterdir() if p.suffix.lower() == ".wav"):
      if wav.stem.lower().startswith("sa"):
        continue  # SA sentences: the same two texts for every speaker (dropped upstream)
      listing.utterances.append(_utterance(wav, names.index(spk.name.upper()), trim_silence))
  if not listing.utterances:
    raise DataError(f"TIMIT split {split!r} in {base} is empty (train = TRAIN speakers; validation / test = the "
                    f"Kaldi dev / core-test speakers found under TEST)")
  return listing
