"""Command-line parsing every command shares: a bad flag is one UsageError line (the CLI exits 2), `--help`
prints the command's flags plus the config forms it takes and the flags every command takes (exit 0)."""
from __future__ import annotations

import argparse

from decompjax.errors import UsageError

HELP_FLAGS = ("-h", "--help")
CONFIG_FILE_HELP = ("  --config=FILE[:ARG]   the preset file and its argument, e.g. "
                    "--config=configs/syntone_beta_vae.py:smoke")
OVERRIDE_HELP = ("  --config.a.b=value    set one config field, e.g. --config.eval.batch_size=64 (repeatable; an\n"
                 "                        unknown field, a wrong type or a value outside the field's rule is an error)")
CPU_DEVICES_HELP = ("  --cpu_devices=N|auto  JAX devices a CPU host is split into (default: config.mesh.cpu_devices;\n"
                    "                        auto = 2 per core, <= 8); no effect on GPU/TPU")


def epilog(*, config_file: bool = False, overrides: bool = False) -> str:
  lines = []
  if config_file or overrides:
    lines += ["config:"] + ([CONFIG_FILE_HELP] if config_file else []) + ([OVERRIDE_HELP] if overrides else [])
    lines += [""]
  return "\n".join(lines + ["every command also takes:", CPU_DEVICES_HELP])


class Parser(argparse.ArgumentParser):
  """argparse whose errors raise UsageError (one line, exit 2) instead of printing usage and exiting."""

  def __init__(self, prog: str, description: str, *, config_file: bool = False, overrides: bool = False):
    super().__init__(prog=prog, description=description, epilog=epilog(config_file=config_file, overrides=overrides),
                     formatter_class=argparse.RawDescriptionHelpFormatter)

  def error(self, message: str):
    raise UsageError(f"{message} (see {self.prog} --help)")


def subjects_help(prog: str, kind: str, subjects: dict[str, str], *, overrides: bool = False) -> str:
  """Help of a command whose first argument names what it acts on (`decompjax data syntone ...`)."""
  width = max(len(s) for s in subjects)
  lines = [f"usage: {prog} <{kind}> [flags]", "", f"{kind}s:"]
  lines += [f"  {name:<{width}}  {text}" for name, text in subjects.items()]
  lines += ["", f"`{prog} <{kind}> --help` lists the flags of each.", "", epilog(overrides=overrides)]
  return "\n".join(lines)
