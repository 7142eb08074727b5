"""VOC-ALS read from a local copy (WAVs per speaker and phonation task + a metadata sheet), for DecVAE.

Layout: any folder tree under `root` holding `<SPEAKER>_<TASK>.wav` files (the release groups them in one folder
per task, e.g. `phonationA/CT001_phonationA.wav`), and one metadata sheet: a CSV, or an .xlsx when openpyxl is
installed (otherwise export the sheet as CSV). Tasks: the 8 of the corpus, A E I O U (sustained vowels) and
KA PA TA (syllable repetition); a file name's task part may carry the release's prefix (phonation, rhythm,
rythm, diadochokinesis). The sheet needs a speaker column (ID / speaker / subject) and may have a category
(ALS / HC) and a King's clinical stage column; columns are matched by name, ignoring case and punctuation.

Labels: utterance-level 'speaker' (sorted speaker ids), 'task' (index in TASKS), 'king_stage' (the stage, -1 for
controls or a blank cell), 'category' (0 HC, 1 ALS, -1 unknown); frame-level 'phoneme' = the task of the whole
file (spec §4: VOC-ALS factors). VOC-ALS is used zero-shot (no pre-training), so there is one split, 'test' (all
files). The first second of every file is skipped (upstream). A WAV whose speaker has no metadata row is a
DataError naming both files; a file whose name has no known task is a reported skip.
"""
from __future__ import annotations

import csv
import pathlib
import re

import numpy as np

from decompjax.data.frame_labels import UNKNOWN, CorpusListing, Intervals, LabelledUtterance
from decompjax.errors import DataError, MissingInputError

SAMPLE_RATE = 16_000
TASKS = ("A", "E", "I", "O", "U", "KA", "PA", "TA")
SPLITS = ("test",)
SKIP_SECONDS = 1.0
_PREFIXES = ("phonation", "rhythm", "rythm", "diadochokinesis")
_SPEAKER_COLS = ("id", "speaker", "speakerid", "subject", "subjectid", "code")


def _key(name: str) -> str:
  return re.sub(r"[^a-z0-9]", "", str(name).lower())


def parse_name(stem: str) -> tuple[str, int] | None:
  """'CT001_phonationA' -> ('CT001', TASKS.index('A')); None when the name has no known task."""
  if "_" not in stem:
    return None
  speaker, task = stem.rsplit("_", 1)
  t = task.lower()
  for pre in _PREFIXES:
    if t.startswith(pre):
      t = t[len(pre):]
      break
  t = t.upper()
  return (speaker, TASKS.index(t)) if speaker and t in TASKS else None


def _rows_csv(path: pathlib.Path) -> list[dict[str, str]]:
  with open(path, newline="", encoding="utf-8-sig") as f:
    sample = f.read(4096)
    f.seek(0)
    try:
      dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
      dialect = csv.excel
    return [dict(r) for r in csv.DictReader(f, dialect=dialect)]


def _rows_xlsx(path: pathlib.Path) -> list[dict[str, str]]:
  try:
    import openpyxl
  except ImportError:
    raise DataError(f"VOC-ALS metadata {path} is an .xlsx sheet and openpyxl is not installed: export the sheet "
                    "as CSV (same folder) or `pip install openpyxl`") from None
  rows = list(openpyxl.load_workbook(path, read_only=True, data_only=True).active.iter_rows(values_only=True))
  if not rows:
    return []
  head = ["" if h is None else str(h) for h in rows[0]]
  return [{h: ("" if v is None else str(v)) for h, v in zip(head, r)} for r in rows[1:]]


def _stage(value: str) -> int:
  m = re.search(r"\d+", value or "")
  return int(m.group()) if m else UNKNOWN


def _category(value: str) -> int:
  v = _key(value)
  return 1 if v.startswith("als") else 0 if v in ("hc", "ct", "control", "healthy", "healthycontrol") else UNKNOWN


def read_metadata(path: pathlib.Path) -> dict[str, dict[str, int]]:
  """speaker -> {'king_stage', 'category'} from the sheet; a sheet without a speaker column is a DataError."""
  rows = _rows_xlsx(path) if path.suffix.lower() == ".xlsx" else _rows_csv(path)
  if not rows:
    raise DataError(f"VOC-ALS metadata {path} has no rows")
  cols = {_key(c): c for c in rows[0]}
  spk = next((cols[k] for k in _SPEAKER_COLS if k in cols), None)
  if spk is None:
    raise DataError(f"VOC-ALS metadata {path}: no speaker column (one of ID, speaker, subject); columns are "
                    f"{list(rows[0])}")
  king = next((c for k, c in cols.items() if "king" in k), None)
  cat = next((c for k, c in cols.items() if k.startswith("category") or k == "group"), None)
  out = {}
  for r in rows:
    name = str(r.get(spk, "")).strip()
    if name:
      category = _category(r.get(cat, "")) if cat else UNKNOWN
      stage = _stage(r.get(king, "")) if king else UNKNOWN
      out[name.upper()] = {"king_stage": stage if category != 0 else UNKNOWN, "category": category}
  return out


def _find_metadata(base: pathlib.Path) -> pathlib.Path:
  sheets = sorted(p for ext in ("*.csv", "*.xlsx") for p in base.rglob(ext) if not p.name.startswith("."))
  if not sheets:
    raise MissingInputError(f"VOC-ALS folder {base} has no metadata sheet (.csv or .xlsx)")
  csvs = [p for p in sheets if p.suffix.lower() == ".csv"]
  return (csvs or sheets)[0]  # a CSV export wins over the .xlsx it came from


def load_utterances(root: str, split: str = "test", *, metadata: str = "",
                    skip_seconds: float = SKIP_SECONDS) -> CorpusListing:
  """Every usable recording (split 'test'); `metadata` overrides the sheet found under root."""
  if split not in SPLITS:
    raise DataError(f"VOC-ALS has only the split 'test' (it is used zero-shot, without pre-training); got {split!r}")
  base = pathlib.Path(root).expanduser()
  if not base.is_dir():
    raise MissingInputError(f"VOC-ALS folder not found: {base}")
  sheet = pathlib.Path(metadata).expanduser() if metadata else _find_metadata(base)
  if not sheet.is_file():
    raise MissingInputError(f"VOC-ALS metadata sheet not found: {sheet}")
  meta = read_metadata(sheet)
  wavs = sorted(p for p in base.rglob("*") if p.suffix.lower() == ".wav" and not p.name.startswith("."))
  parsed = [(w, parse_name(w.stem)) for w in wavs]
  speakers = sorted({p[0].upper() for _, p in parsed if p})
  listing = CorpusListing([], {"speaker": speakers, "task": list(TASKS), "phoneme": list(TASKS),
                               "category": ["HC", "ALS"]})
  for wav, p in parsed:
    if p is None:
      listing.skip("no_task_in_name", str(wav))
      continue
    speaker, task = p[0].upper(), p[1]
    if speaker not in meta:
      raise DataError(f"VOC-ALS recording {wav}: speaker {speaker} has no row in the metadata sheet {sheet}")
    labels = {"speaker": speakers.index(speaker), "task": task, **meta[speaker]}
    whole = Intervals(np.array([0], np.int64), np.array([np.iinfo(np.int32).max], np.int64),
                      np.array([task], np.int32))
    listing.utterances.append(LabelledUtterance(uid=wav.stem, path=str(wav), labels=labels, intervals=whole,
                                                start=int(round(skip_seconds * SAMPLE_RATE))))
  if not listing.utterances:
    raise DataError(f"VOC-ALS folder {base} has no <SPEAKER>_<TASK>.wav recordings (tasks: {', '.join(TASKS)})")
  return listing
