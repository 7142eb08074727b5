"""The `decompjax` console script: `decompjax <command> [flags]`.

Each command lives in `decompjax.commands.<name>` and exposes `main(argv) -> int`. Errors the user can fix
(bad config field, missing data, a workdir of another model) print one clear message and exit 2. Only the
command that runs is imported, and commands parse their flags before they import JAX/TF, so `--help` and a
typo answer at once.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys

from decompjax.errors import USER_ERRORS, UsageError

COMMANDS = {
    "train": "train a model: --config=configs/X.py[:arg] --workdir=DIR [--config.a.b=value ...]",
    "eval": "evaluate the latest checkpoint of a workdir: --workdir=DIR",
    "data": "prepare or generate data: data prepare --config=FILE | data syntone --out=DIR [grid flags]",
    "demo": "generate a reduced SynTone grid, train a beta-VAE, evaluate it: --workdir=DIR",
    "benchmark": "train and score the SynTone benchmark models: benchmark syntone --workdir=DIR",
    "sweep": "UCR gamma sweep of VQ-VAE vs Barlow VQ-VAE: sweep ucr --datasets=A,B --workdir=DIR",
    "probe": "few-shot speaker-ID probe of an Autodecompose run: probe speaker --workdir=DIR",
    "embed": "write Autodecompose embeddings of audio files: embed --workdir=DIR --encoder=voice AUDIO...",
    "separate": "split audio files into voice.wav and music.wav: separate --workdir=RUN AUDIO... --out=DIR",
    "compare": "one leaderboard over runs of any family: compare --workdirs RUN1 RUN2 ... --out=DIR",
    "launch": "run N processes of a command as one JAX cluster here: launch local --processes=N -- train ...",
}


def usage() -> str:
  from decompjax.commands import parsing
  lines = ["usage: decompjax <command> [flags]", "       decompjax <command> --help", "       decompjax --version",
           "", "commands:"]
  lines += [f"  {name:<10} {text}" for name, text in COMMANDS.items()]
  lines += ["", parsing.epilog()]
  return "\n".join(lines)


def version() -> str:
  """The installed distribution's version; the package's own when it runs from a bare checkout."""
  from importlib import metadata
  try:
    return metadata.version("decompjax")
  except metadata.PackageNotFoundError:
    from decompjax import __version__
    return __version__


def pop_cpu_devices_flag(argv: list[str]) -> tuple[list[str], str | None]:
  """Removes `--cpu_devices=V` / `--cpu_devices V` from anywhere in argv; returns (rest, V or None)."""
  rest, value, i = [], None, 0
  while i < len(argv):
    arg = argv[i]
    if arg.startswith("--cpu_devices="):
      value = arg.split("=", 1)[1]
    elif arg == "--cpu_devices":
      if i + 1 >= len(argv):
        raise UsageError("--cpu_devices needs a value: a positive integer or 'auto'")
      value, i = argv[i + 1], i + 1
    else:
      rest.append(arg)
    i += 1
  return rest, value


def main(argv: list[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  # Our own progress at INFO; library chatter (orbax, absl, TF) only when it is a warning.
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  logging.getLogger("decompjax").setLevel(logging.INFO)
  logging.getLogger("absl").setLevel(logging.WARNING)
  if argv[:1] in (["--version"], ["-V"]):
    print(f"decompjax {version()}")
    return 0
  if argv[:1] == ["help"] and len(argv) > 1:  # `decompjax help train` = `decompjax train --help`
    argv = [argv[1], "--help"]
  if not argv or argv[0] in ("-h", "--help", "help"):
    print(usage())
    return 0 if argv else 2
  name, rest = argv[0], argv[1:]
  if name not in COMMANDS:
    print(f"decompjax: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
    return 2
  from decompjax import cpu_devices
  try:  # the command applies it at its entry (cpu_devices.configure_for), over config.mesh.cpu_devices
    rest, cpu_flag = pop_cpu_devices_flag(rest)
    cpu_devices.set_command_line(cpu_flag)
  except ValueError as e:
    print(f"decompjax {name}: error: {e}", file=sys.stderr)
    return 2
  module = importlib.import_module(f"decompjax.commands.{name}")
  try:
    return int(module.main(rest) or 0)
  except USER_ERRORS as e:  # the user's to fix: one line. Anything else is a bug and keeps its traceback.
    print(f"decompjax {name}: error: {e}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print(f"decompjax {name}: interrupted", file=sys.stderr)
    return 130
  except SystemExit as e:  # argparse's --help (0), or a parser that exits on its own: a status, not a crash
    if e.code is None or isinstance(e.code, int):
      return e.code or 0
    print(f"decompjax {name}: error: {e.code}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
