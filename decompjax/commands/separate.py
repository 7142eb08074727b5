"""decompjax separate --workdir=RUN [--out=DIR] [--best | --step=N] [--batch_size=N] AUDIO...

Splits each audio file into a voice and a music (accompaniment) track with a trained ConVAE-BSS run, writing
  DIR/<file stem>/voice.wav and DIR/<file stem>/music.wav     (default DIR: RUN/separated)
at the input's sample rate and length, and prints where they went.

Any sample rate (resampled to the model's 16 kHz and back), mono or stereo (stereo is averaged to mono for the
model, so both outputs are mono), any length: long files are processed in crop-long windows with 50% overlap and
a Hann cross-fade (with a progress bar on a terminal). The outputs keep the separated level (no normalisation),
so voice + music is the (mono) mixture. Missing, empty (0-byte), unreadable or >2-channel files are errors.

From Python: `decompjax.separate(workdir, inputs, out_dir)`.
"""
from __future__ import annotations

import os

from decompjax import config_utils, cpu_devices, fileio
from decompjax.commands import parsing
from decompjax.errors import UsageError

FAMILY = "convae_bss"


def separate(workdir: str, inputs, out_dir: str | None = None, *, best: bool = False, step: int | None = None,
             batch_size: int = 8, progress: bool | None = None) -> list[dict]:
  """Separates audio files with the ConVAE-BSS run in `workdir` into <out_dir>/<stem>/{voice,music}.wav
  (out_dir default: <workdir>/separated). inputs: a path or a list of paths. best: the best-by-validation
  checkpoint; step: a given one (default: the latest). -> one dict per input: {'input', 'voice', 'music'
  (written paths), 'sample_rate', 'channels', 'seconds'}."""
  from decompjax import restore
  from decompjax.families.convae_bss import separate as sep
  inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
  if not inputs:
    raise UsageError("give at least one audio file to separate")
  if best and step is not None:
    raise UsageError("--best and --step name different checkpoints; give one")
  if batch_size < 1:
    raise UsageError(f"--batch_size must be >= 1, got {batch_size}")
  inputs = [os.fspath(p) for p in inputs]
  for path in inputs:  # every input checked before the model is restored
    sep.check_input(path)
  from decompjax import distributed
  distributed.maybe_initialize()  # on a cluster: every process restores and separates, sharded over all devices
  config, state = restore.load_run(workdir, step, family=FAMILY, best=best, training_mesh=True)
  out_dir = out_dir or fileio.join(workdir, "separated")
  return sep.separate_files(inputs, out_dir, sep.model_window_fn(config, state), sep.window_length(config),
                            batch_size=batch_size, progress=progress)


def main(argv: list[str]) -> int:
  parser = parsing.Parser("decompjax separate", __doc__)
  parser.add_argument("--workdir", required=True, help="a trained convae_bss run")
  parser.add_argument("--out", default=None, help="output folder (default: WORKDIR/separated)")
  parser.add_argument("--best", action="store_true", help="the best-by-validation checkpoint (checkpoints_best/)")
  parser.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
  parser.add_argument("--batch_size", type=int, default=8, help="windows separated at once")
  parser.add_argument("audio", nargs="*", help="audio files (WAV, FLAC, ... anything libsndfile reads)")
  args = parser.parse_args(argv)
  if not args.audio:
    raise UsageError("give at least one audio file to separate (see decompjax separate --help)")
  from decompjax.families.convae_bss import separate as sep
  for path in args.audio:  # a bad input fails before JAX starts
    sep.check_input(path)
  cpu_devices.configure_for(config_utils.load_saved_config(fileio.join(args.workdir, "config.json")))
  results = separate(args.workdir, args.audio, args.out, best=args.best, step=args.step, batch_size=args.batch_size)
  from decompjax import distributed
  for r in results if distributed.is_writer() else ():  # process 0 wrote the files; it says where
    print(f"{r['input']} ({r['channels']} ch, {r['sample_rate']} Hz, {r['seconds']:.1f} s) -> "
          f"{r['voice']}, {r['music']}")
  return 0
