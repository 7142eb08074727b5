"""Voice / accompaniment corpora read from local copies: MUSDB18, MIR-1K, DSD100, ccMixter -> Track objects.

None of these can be downloaded here (specs/convae_bss.md §5); each loader reads the folder layout of the
corpus as distributed and yields Track(name, mixture, voice, music, sample_rate) as mono float32 at 16 kHz.
A stereo file is down-mixed (channel mean) and another sample rate is resampled (polyphase, exact ratio); both
are reported in ONE logged warning per load, never silently. Bad input is a DataError naming the file: a silent
voice or accompaniment, a stem shorter than its mixture, sample rates that differ across a track's files, a
0-byte file, more than two channels.

Layouts and splits (docs/convae_bss_data.md):
  musdb18   <root>/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav (musdb's `is_wav` layout);
            music = drums + bass + other; validation = the 14 official validation tracks of musdb, held out of
            train/; test = test/.
  mir1k     <root>/Wavfile/*.wav, two channels: left = accompaniment, right = voice; mixture = left + right.
            train/validation = the clips of singers 'abjones' and 'amy' (Huang et al. 2014), every 10th of them
            validation; test = every other singer.
  dsd100    <root>/Mixtures/{Dev,Test}/<track>/mixture.wav, <root>/Sources/{Dev,Test}/<track>/{vocals,bass,drums,
            other}.wav; music = bass + drums + other; validation = every 10th Dev track (sorted); test = Test.
  ccmixter  <root>/<track>/{mix.wav, source-01.wav, source-02.wav} (Liutkus et al. 2014): source-01 =
            accompaniment, source-02 = voice; no official split: sorted tracks, i % 5 == 0 test, == 1
            validation, else train.
The split 'all' is every track. A Track's mixture is the corpus's own mixture file (MIR-1K: left + right);
training crops use voice + music, so their mixture equals the stem sum exactly.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import pathlib

import numpy as np

from decompjax.audio import resample as resample_lib
from decompjax.audio import wav as wav_lib
from decompjax.errors import DataError, MissingInputError

SAMPLE_RATE = 16_000
CORPORA = ("musdb18", "mir1k", "dsd100", "ccmixter")
SPLITS = ("train", "validation", "test", "all")
SILENCE_PEAK = 1e-5  # below -100 dBFS everywhere: a silent (or missing) source
MUSDB_VALIDATION = frozenset({
    "Actions - One Minute Smile", "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies", "Patrick Talbot - A Reason To Leave", "Triviul - Angelsaint",
    "Alexander Ross - Goodbye Bolero", "Fergessen - Nos Palpitants", "Leaf - Summerghost",
    "Skelpolu - Human Mistakes", "Young Griffo - Pennies", "ANiMAL - Rockshow", "James May - On The Line",
    "Meaxic - Take A Step", "Traffic Experiment - Sirens"})
MIR1K_TRAIN_SINGERS = ("abjones", "amy")
_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Track:
  name: str
  mixture: np.ndarray  # float32 [T] mono
  voice: np.ndarray    # float32 [T]
  music: np.ndarray    # float32 [T] (the accompaniment: every non-vocal stem summed)
  sample_rate: int = SAMPLE_RATE


@dataclasses.dataclass(frozen=True)
class TrackFiles:
  """Where one track's audio lives. `channels` = the MIR-1K case: one file, (music, voice) channels."""
  name: str
  mixture: pathlib.Path | None
  voice: tuple[pathlib.Path, ...]
  music: tuple[pathlib.Path, ...]
  channels: pathlib.Path | None = None


class _Notes:
  """What a load converted (stereo down-mixes, resamplings), reported as one logged warning."""

  def __init__(self):
    self.downmixed = 0
    self.rates = collections.Counter()

  def log(self, corpus: str, split: str, root, num_tracks: int, target_sr: int) -> None:
    parts = []
    if self.downmixed:
      parts.append(f"down-mixed {self.downmixed} stereo file(s) to mono")
    if self.rates:
      rates = ", ".join(f"{n} from {sr} Hz" for sr, n in sorted(self.rates.items()))
      parts.append(f"resampled {sum(self.rates.values())} file(s) to {target_sr} Hz ({rates})")
    if parts:
      _log.warning("%s %s (%d tracks from %s): %s", corpus, split, num_tracks, root, "; ".join(parts))


def _dirs(path: pathlib.Path) -> list[pathlib.Path]:
  return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _need_dir(path: pathlib.Path, corpus: str, layout: str) -> pathlib.Path:
  if not path.is_dir():
    raise MissingInputError(f"{corpus}: folder {path} not found; expected the layout {layout}")
  return path


def _musdb(root: pathlib.Path, split: str) -> list[TrackFiles]:
  layout = "<root>/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav"
  folders = []
  if split in ("train", "validation", "all"):
    train = _dirs(_need_dir(root / "train", "musdb18", layout))
    folders += [d for d in train if split == "all" or (d.name in MUSDB_VALIDATION) == (split == "validation")]
  if split in ("test", "all"):
    folders += _dirs(_need_dir(root / "test", "musdb18", layout))
  return [TrackFiles(d.name, d / "mixture.wav", (d / "vocals.wav",),
                     tuple(d / f"{s}.wav" for s in ("drums", "bass", "other"))) for d in folders]


def _mir1k(root: pathlib.Path, split: str) -> list[TrackFiles]:
  files = sorted(_need_dir(root / "Wavfile", "mir1k", "<root>/Wavfile/*.wav (left accompaniment, right voice)")
                 .glob("*.wav"))
  chosen = []
  train_side = [f for f in files if f.stem.split("_")[0].lower() in MIR1K_TRAIN_SINGERS]
  if split in ("train", "validation", "all"):
    chosen += [f for i, f in enumerate(train_side) if split == "all" or (i % 10 == 0) == (split == "validation")]
  if split in ("test", "all"):
    chosen += [f for f in files if f not in train_side]
  return [TrackFiles(f.stem, None, (), (), channels=f) for f in chosen]


def _dsd100(root: pathlib.Path, split: str) -> list[TrackFiles]:
  layout = "<root>/Mixtures/{Dev,Test}/<track>/mixture.wav + <root>/Sources/{Dev,Test}/<track>/<stem>.wav"
  out = []
  for part in (["Dev"] if split in ("train", "validation") else ["Test"] if split == "test" else ["Dev", "Test"]):
    mixtures = _dirs(_need_dir(root / "Mixtures" / part, "dsd100", layout))
    for i, d in enumerate(mixtures):
      if part == "Dev" and split != "all" and (i % 10 == 0) != (split == "validation"):
        continue
      src = root / "Sources" / part / d.name
      out.append(TrackFiles(d.name, d / "mixture.wav", (src / "vocals.wav",),
                            tuple(src / f"{s}.wav" for s in ("bass", "drums", "other"))))
  return out


def _ccmixter(root: pathlib.Path, split: str) -> list[TrackFiles]:
  folders = _dirs(_need_dir(root, "ccmixter", "<root>/<track>/{mix,source-01,source-02}.wav"))
  role = {0: "test", 1: "validation"}
  chosen = [d for i, d in enumerate(folders) if split == "all" or role.get(i % 5, "train") == split]
  return [TrackFiles(d.name, d / "mix.wav", (d / "source-02.wav",), (d / "source-01.wav",)) for d in chosen]


_LAYOUTS = {"musdb18": _musdb, "mir1k": _mir1k, "dsd100": _dsd100, "ccmixter": _ccmixter}


def track_files(corpus: str, root, split: str) -> list[TrackFiles]:
  """The tracks of `split` in a local copy of `corpus` (sorted), without reading audio."""
  if corpus not in _LAYOUTS:
    raise DataError(f"unknown separation corpus {corpus!r}; expected one of {CORPORA}")
  if split not in SPLITS:
    raise DataError(f"unknown split {split!r} for {corpus}; expected one of {SPLITS}")
  root = pathlib.Path(root).expanduser()
  if not root.is_dir():
    raise MissingInputError(f"{corpus}: data folder {root} not found")
  return _LAYOUTS[corpus](root, split)


def _silent_check(audio: np.ndarray, what: str) -> None:
  if not np.max(np.abs(audio)) > SILENCE_PEAK:
    raise DataError(f"{what} is silent (peak below {SILENCE_PEAK:g}); a voice/accompaniment pair needs both")


def read_track(files: TrackFiles, *, sample_rate: int = SAMPLE_RATE, notes: _Notes | None = None) -> Track:
  """One Track, mono at `sample_rate`; DataError naming the file for bad audio (see the module docstring)."""
  notes = _Notes() if notes is None else notes
  if files.channels is not None:  # MIR-1K: one two-channel file
    audio, sr = wav_lib.read_audio_channels(files.channels)
    if audio.shape[1] != 2:
      raise DataError(f"MIR-1K file {files.channels} has {audio.shape[1]} channel(s); it must have two "
                      "(left = accompaniment, right = voice)")
    _silent_check(audio[:, 1], f"the voice (right channel) of {files.channels}")
    _silent_check(audio[:, 0], f"the accompaniment (left channel) of {files.channels}")
    music, voice = (resample_lib.resample(audio[:, c], sr, sample_rate).astype(np.float32) for c in (0, 1))
    if sr != sample_rate:
      notes.rates[sr] += 1
    return Track(files.name, voice + music, voice, music, sample_rate)
  paths = [files.mixture, *files.voice, *files.music]
  for p in paths:
    if not p.is_file():
      raise MissingInputError(f"track {files.name!r}: file {p} not found")
  loaded = [wav_lib.read_audio_channels(p) for p in paths]
  rates = {p.name: sr for p, (_, sr) in zip(paths, loaded)}
  if len(set(rates.values())) > 1:
    raise DataError(f"track {files.name!r} in {files.mixture.parent}: sample rates differ across its files "
                    f"({', '.join(f'{n} {sr} Hz' for n, sr in rates.items())})")
  length = loaded[0][0].shape[0]
  for p, (audio, _) in zip(paths[1:], loaded[1:]):
    if audio.shape[0] < length:
      raise DataError(f"stem {p} is shorter than its mixture {paths[0].name} ({audio.shape[0]} < {length} "
                      "samples)")
  sr = loaded[0][1]
  stems = [audio[:length] for audio, _ in loaded]
  n_voice = len(files.voice)
  voice_raw, music_raw = sum(stems[1:1 + n_voice]), sum(stems[1 + n_voice:])
  _silent_check(voice_raw, f"the voice stem {files.voice[0]}")
  _silent_check(music_raw, f"the accompaniment ({', '.join(str(p) for p in files.music)})")
  _silent_check(stems[0], f"the mixture {files.mixture}")
  for audio in stems:  # counted per file, as the note says
    if audio.shape[1] == 2:
      notes.downmixed += 1
    if sr != sample_rate:
      notes.rates[sr] += 1
  mixture, voice, music = (resample_lib.resample(a.mean(axis=1), sr, sample_rate).astype(np.float32)
                           for a in (stems[0], voice_raw, music_raw))
  return Track(files.name, mixture, voice, music, sample_rate)


def load_tracks(corpus: str, root, split: str, *, sample_rate: int = SAMPLE_RATE,
                limit: int | None = None) -> list[Track]:
  """The Tracks of `split` (the first `limit` when given); one logged warning lists every down-mix and
  resampling. An empty split is a DataError naming the folder and the split rule."""
  files = track_files(corpus, root, split)
  if not files:
    raise DataError(f"{corpus}: no tracks for split {split!r} in {root} (see the split rules in "
                    "decompjax/data/separation_corpora.py)")
  files = files[:limit] if limit is not None else files
  notes = _Notes()
  tracks = [read_track(f, sample_rate=sample_rate, notes=notes) for f in files]
  notes.log(corpus, split, root, len(tracks), sample_rate)
  return tracks
