"""A local speech corpus laid out like LibriSpeech, cut into mel crops for Autodecompose.

Layouts: `<root>/<speaker>/<chapter>/<utt>.flac|wav` or flat `<root>/<speaker>/*.flac|wav` (any depth below
the speaker folder works; the speaker is the first folder under root). Audio is mixed to mono, resampled to the
front end's rate (`decompjax.audio.wav.read_audio`) and turned into 64-frame mel crops by a
`decompjax.audio.speech_features.MelFeatures` front end. Local files only.

Bad files are never dropped silently: unreadable, empty, too-short (shorter than one crop) and wrong-format
files (not .flac/.wav, or outside a speaker folder) are counted in a `CorpusReport`, logged with the first few
paths, and skipped. LibriSpeech transcripts (*.trans.txt) and hidden files are expected and ignored.
A corpus with fewer than two usable speakers is an error.

Splits: 'all' = every file; 'validation' (= 'test') = every `holdout_every`-th file of each speaker (sorted
order), 'train' = the rest. Speakers with fewer than `holdout_every` files keep all their files in 'train'.

Several processes: `load_crops_share` gives each a contiguous block of the split's crops, the same number on
every process, planned from the file headers (frames, rate), and decodes and featurises only the files in it.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import logging
import os
import pathlib

import numpy as np

from decompjax.audio import speech_features as feat_lib
from decompjax.audio import wav as wav_lib
from decompjax.errors import DataError, MissingInputError

AUDIO_EXTS = (".flac", ".wav")
SPLITS = ("train", "validation", "test", "all")
REASONS = ("unreadable", "empty", "too_short", "wrong_format")


@dataclasses.dataclass
class CorpusReport:
  root: str
  speakers: list[str]
  files_used: int = 0
  crops: int = 0
  seconds: float = 0.0
  skipped: dict[str, list[str]] = dataclasses.field(default_factory=lambda: {r: [] for r in REASONS})

  @property
  def num_skipped(self) -> int:
    return sum(len(v) for v in self.skipped.values())

  def summary(self, max_paths: int = 5) -> str:
    lines = [f"{self.root}: {len(self.speakers)} speakers, {self.files_used} files, {self.crops} crops "
             f"({self.seconds / 60:.1f} min of audio)"]
    for reason, paths in self.skipped.items():
      if paths:
        more = f" (+{len(paths) - max_paths} more)" if len(paths) > max_paths else ""
        lines.append(f"  skipped {len(paths)} {reason.replace('_', '-')} file(s): "
                     f"{', '.join(paths[:max_paths])}{more}")
    return "\n".join(lines)


@dataclasses.dataclass
class CorpusCrops:
  mel: np.ndarray        # [N, T, F] float32
  speaker: np.ndarray    # [N] int32, index into `speakers`
  file: np.ndarray       # [N] int32, index into `files`
  speakers: list[str]
  files: list[str]
  report: CorpusReport


def scan(root: str) -> tuple[dict[str, list[str]], list[str]]:
  """-> ({speaker: sorted audio paths}, wrong-format paths)."""
  base = pathlib.Path(os.path.expanduser(root))
  if not base.exists():
    raise MissingInputError(f"speech corpus folder not found: {base}")
  if not base.is_dir():
    raise MissingInputError(f"speech corpus path is not a folder: {base}")
  speakers, wrong = {}, []
  for entry in sorted(base.iterdir()):
    if entry.name.startswith("."):
      continue
    if entry.is_file():
      wrong.append(str(entry))  # audio must sit in a speaker folder
      continue
    files = []
    for path in sorted(p for p in entry.rglob("*") if p.is_file()):
      if path.name.startswith(".") or path.name.endswith(".trans.txt"):
        continue
      (files if path.suffix.lower() in AUDIO_EXTS else wrong).append(str(path))
    if files:
      speakers[entry.name] = files
  return speakers, wrong


def _select(files: list[str], split: str, holdout_every: int) -> list[str]:
  if split == "all" or len(files) < holdout_every or holdout_every < 2:
    return files if split in ("all", "train") else []
  held = [i % holdout_every == holdout_every - 1 for i in range(len(files))]
  want_held = split in ("validation", "test")
  return [f for f, h in zip(files, held) if h == want_held]


def _jobs(root: str, split: str, holdout_every: int, max_files_per_speaker: int):
  """-> ([(speaker name, path)] of the split in corpus order, report with the wrong-format files)."""
  if split not in SPLITS:
    raise ValueError(f"unknown corpus split {split!r}; valid: {', '.join(SPLITS)}")
  speakers, wrong = scan(root)
  report = CorpusReport(root=str(root), speakers=[])
  report.skipped["wrong_format"].extend(wrong)
  jobs = []
  for name, files in speakers.items():
    chosen = _select(files, split, holdout_every)
    if max_files_per_speaker:
      chosen = chosen[:max_files_per_speaker]
    jobs.extend((name, f) for f in chosen)
  return jobs, report


def load_crops(root: str, features, *, split: str = "all", holdout_every: int = 10, seed: int = 0,
               max_files_per_speaker: int = 0, num_workers: int = 4) -> CorpusCrops:
  """Reads, resamples and crops the corpus. `features` is a `decompjax.audio.speech_features.MelFeatures`."""
  jobs, report = _jobs(root, split, holdout_every, max_files_per_speaker)

  def work(i_job):
    i, (_, path) = i_job
    try:
      wav = wav_lib.read_audio(path, features.sample_rate, features.min_samples)
    except wav_lib.UnusableAudio as s:
      return None, s.reason, 0.0
    crops = feat_lib.wav_to_crops(wav, features, np.random.default_rng([seed, i]))
    return crops, None, wav.shape[0] / features.sample_rate

  with concurrent.futures.ThreadPoolExecutor(max(1, num_workers)) as pool:
    results = list(pool.map(work, enumerate(jobs)))

  names = sorted({name for (name, _), (c, _, _) in zip(jobs, results) if c is not None and len(c)})
  index = {n: i for i, n in enumerate(names)}
  mels, spk, fid, used = [], [], [], []
  for (name, path), (crops, reason, secs) in zip(jobs, results):
    if reason is not None:
      report.skipped[reason].append(path)
      continue
    if not len(crops):
      report.skipped["too_short"].append(path)
      continue
    mels.append(crops)
    spk.append(np.full(len(crops), index[name], np.int32))
    fid.append(np.full(len(crops), len(used), np.int32))
    used.append(path)
    report.seconds += secs
  report.speakers, report.files_used = names, len(used)
  report.crops = int(sum(len(m) for m in mels))
  if report.num_skipped:
    logging.warning("speech corpus %s", report.summary())
  else:
    logging.info("speech corpus %s", report.summary())
  if len(names) < 2:
    raise DataError(f"speech corpus {root} (split {split!r}) has {len(names)} usable speaker(s) "
                    f"{names}; at least 2 are needed. {report.summary()}")
  return CorpusCrops(mel=np.concatenate(mels), speaker=np.concatenate(spk), file=np.concatenate(fid),
                     speakers=names, files=used, report=report)


def crop_count(num_samples: int, features) -> int:
  """The crops wav_to_crops cuts from num_samples samples (T = 1 + n // hop frames; starts 0, 64, ... < T - 64)."""
  frames = 1 + num_samples // features.hop
  return len(range(0, frames - features.crop_frames, features.crop_frames))


def _header_crops(path: str, features) -> tuple[int, float, str | None]:
  """(crops, seconds, skip reason) of one file from its header alone, as read_audio + wav_to_crops would give."""
  import soundfile as sf
  if os.path.getsize(path) == 0:
    return 0, 0.0, "empty"
  try:
    info = sf.info(path)
  except Exception:  # libsndfile raises several types for corrupt or mislabelled files
    return 0, 0.0, "unreadable"
  n = int(info.frames)
  if n == 0:
    return 0, 0.0, "empty"
  if info.samplerate != features.sample_rate:  # librosa.resample's output length
    n = int(np.ceil(n * (float(features.sample_rate) / info.samplerate)))
  if n < features.min_samples:
    return 0, 0.0, "too_short"
  count = crop_count(n, features)
  return count, n / features.sample_rate, None if count else "too_short"


def load_crops_share(root: str, features, *, split: str = "all", holdout_every: int = 10, seed: int = 0,
                     max_files_per_speaker: int = 0, process_index: int = 0, process_count: int = 1,
                     num_workers: int = 4) -> CorpusCrops:
  """This process's share of `load_crops(...)` (same crops, same speaker and file ids), reading only its own files.

  Every file's crop count comes from its header; the share is a contiguous block of the corpus's crops
  (decompjax.data.host_share: the same number on every process), and only the files inside the block are decoded
  and featurised. A file whose audio disagrees with its header is an error naming it: the processes planned
  their shares from the headers, so they must hold.
  """
  from decompjax.data import host_share
  jobs, report = _jobs(root, split, holdout_every, max_files_per_speaker)
  expected = []
  for _, path in jobs:
    count, secs, reason = _header_crops(path, features)
    if reason is not None:
      report.skipped[reason].append(path)
    report.seconds += secs
    expected.append(count)
  names = sorted({name for (name, _), count in zip(jobs, expected) if count})
  used = [i for i, count in enumerate(expected) if count]
  report.speakers, report.files_used, report.crops = names, len(used), int(sum(expected))
  if len(names) < 2:
    raise DataError(f"speech corpus {root} (split {split!r}) has {len(names)} usable speaker(s) "
                    f"{names}; at least 2 are needed. {report.summary()}")
  if report.crops < process_count:
    raise DataError(f"speech corpus {root} (split {split!r}) has {report.crops} crops, fewer than the "
                    f"{process_count} processes reading it")
  (logging.warning if report.num_skipped else logging.info)("speech corpus %s", report.summary())

  def work(item_range):
    i, start, stop = item_range
    path = jobs[i][1]
    try:
      wav = wav_lib.read_audio(path, features.sample_rate, features.min_samples)
    except wav_lib.UnusableAudio as s:
      raise DataError(f"speech corpus file {path}: its header promises {expected[i]} crop(s) but the audio is "
                      f"{s.reason.replace('_', '-')}; fix or remove the file (every host plans its share from "
                      "the headers)") from None
    crops = feat_lib.wav_to_crops(wav, features, np.random.default_rng([seed, i]))  # i: as load_crops seeds it
    if len(crops) != expected[i]:
      raise DataError(f"speech corpus file {path}: its header promises {expected[i]} crop(s) but the audio gives "
                      f"{len(crops)}; fix or remove the file (every host plans its share from the headers)")
    return crops[start:stop]

  ranges = host_share.item_ranges(expected, process_index, process_count)
  with concurrent.futures.ThreadPoolExecutor(max(1, num_workers)) as pool:
    mels = list(pool.map(work, ranges))
  speaker_id, file_id = {n: k for k, n in enumerate(names)}, {i: k for k, i in enumerate(used)}
  speaker = [np.full(len(m), speaker_id[jobs[i][0]], np.int32) for m, (i, _, _) in zip(mels, ranges)]
  file = [np.full(len(m), file_id[i], np.int32) for m, (i, _, _) in zip(mels, ranges)]
  return CorpusCrops(mel=np.concatenate(mels), speaker=np.concatenate(speaker), file=np.concatenate(file),
                     speakers=names, files=[jobs[i][1] for i in used], report=report)


@functools.lru_cache(maxsize=4)
def load_crops_share_cached(root: str, features, split: str, holdout_every: int, seed: int,
                            max_files_per_speaker: int, process_index: int, process_count: int) -> CorpusCrops:
  """`load_crops_share` memoised per process."""
  return load_crops_share(root, features, split=split, holdout_every=holdout_every, seed=seed,
                          max_files_per_speaker=max_files_per_speaker, process_index=process_index,
                          process_count=process_count)


@functools.lru_cache(maxsize=4)
def load_crops_cached(root: str, features, split: str, holdout_every: int, seed: int,
                      max_files_per_speaker: int) -> CorpusCrops:
  """`load_crops` memoised per process (train, eval and probe read the same corpus)."""
  return load_crops(root, features, split=split, holdout_every=holdout_every, seed=seed,
                    max_files_per_speaker=max_files_per_speaker)


def make_dataset(crops: CorpusCrops, *, process_index: int = 0, process_count: int = 1):
  """Unbatched tf.data source of {'mel': [T, F] float32, 'speaker': int32}; each host takes every
  process_count-th crop."""
  from decompjax.input_pipeline import tf_on_cpu_only
  tf = tf_on_cpu_only()
  sl = slice(process_index, None, process_count)
  return tf.data.Dataset.from_tensor_slices({"mel": crops.mel[sl], "speaker": crops.speaker[sl]})
