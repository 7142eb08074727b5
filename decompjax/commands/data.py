"""decompjax data <prepare|syntone> [flags]: make the data a run reads, before training.

decompjax data prepare --config=FILE[:ARG] [--config.a.b=value ...]
  Runs the preset's family's data preparation (SynTone grid, SimVowels: generated and cached under
  config.data.dir), as training would before its first step. Families that read existing files (UCR) need none.
  Before a multi-host run, prepare into storage every host reads (a shared filesystem or gs://bucket/data) with
  --config.data.dir (SynTone) or --config.data.cache_dir (SimVowels, SynMix, DecVAE) and train with the same
  value. Started on every host of a cluster (like train), process 0 prepares and the others check they see it.

decompjax data syntone --out=DIR [--sample_rate=16000 --freq_start=440 --freq_end=8000 --num_freqs=400
    --amp_start=0.1 --amp_end=1.0 --num_amps=20 --seed=0 --band_limited --random_phase] [--npz=PATH]
  Generates the SynTone tone grid locally as a TFDS dataset under DIR (what training reads), and optionally
  exports the original create.py `.npz` layout. Defaults are create.py's: 4 waveforms x 400 freqs x 20 amps,
  16 kHz, 1 s.
"""
from __future__ import annotations

from decompjax import config_utils, fileio
from decompjax.commands import parsing
from decompjax.errors import UsageError


def _prepare(argv: list[str]) -> int:
  spec, overrides, rest = config_utils.split_config_args(argv)
  p = parsing.Parser("decompjax data prepare", __doc__, config_file=True, overrides=True)
  p.parse_args(rest)
  if not spec:
    raise UsageError("--config=configs/<preset>.py[:arg] is required")
  config = config_utils.build_config(spec, overrides)
  from decompjax import distributed, registry  # after parsing: --help and a bad flag answer at once
  family = registry.get_family(config.model.family)
  if family.prepare_data is None:
    print(f"model family {family.name!r} needs no data preparation (it reads the files in config.data.dir as "
          "they are); nothing to do")
    return 0
  distributed.maybe_initialize()  # on a cluster: process 0 writes, the others wait and check they see it
  family.prepare_data(config)
  print(f"prepared the data of {spec} (model family {family.name!r}); training with the same config reads it")
  return 0


def _syntone(argv: list[str]) -> int:
  p = parsing.Parser("decompjax data syntone", __doc__)
  p.add_argument("--out", required=True, help="TFDS data dir to generate into")
  p.add_argument("--sample_rate", type=int, default=16000)
  p.add_argument("--freq_start", type=float, default=440.0)
  p.add_argument("--freq_end", type=float, default=None, help="default: sample_rate / 2")
  p.add_argument("--num_freqs", type=int, default=400)
  p.add_argument("--amp_start", type=float, default=0.1)
  p.add_argument("--amp_end", type=float, default=1.0)
  p.add_argument("--num_amps", type=int, default=20)
  p.add_argument("--seed", type=int, default=0, help="only used with --random_phase")
  p.add_argument("--band_limited", action="store_true", help="additive synthesis below Nyquist (no aliasing)")
  p.add_argument("--random_phase", action="store_true", help="per-clip random start phase (seeded)")
  p.add_argument("--npz", default=None, help="also export the original .npz layout to this path")
  args = p.parse_args(argv)
  from decompjax.data import syntone  # after parsing: --help and a bad flag answer at once
  try:
    grid = syntone.SynToneGrid(sample_rate=args.sample_rate, freq_start=args.freq_start, freq_end=args.freq_end,
                               num_freqs=args.num_freqs, amp_start=args.amp_start, amp_end=args.amp_end,
                               num_amps=args.num_amps, seed=args.seed, band_limited=args.band_limited,
                               random_phase=args.random_phase)
  except ValueError as e:  # the grid checks its own fields, which here are exactly the flags above
    raise UsageError(str(e)) from None
  from decompjax.data import syntone_tfds
  out = fileio.absolute(args.out)  # a gs:// URL stays one
  builder = syntone_tfds.build(grid, out)
  print(f"SynTone grid {grid.fingerprint()}: {grid.num_examples} clips in {builder.data_dir}")
  print(f"  train with: --config.data.dir={out} and matching --config.data.grid.* fields")
  if args.npz:
    path = syntone.export_npz(grid, args.npz)
    print(f"  exported original .npz layout to {path}")
  return 0


SUBCOMMANDS = {"prepare": _prepare, "syntone": _syntone}
DESCRIPTIONS = {
    "prepare": "the data a preset's family reads (--config=FILE[:ARG]): SynTone, SimVowels, generated and cached",
    "syntone": "the SynTone tone grid (4 waveforms x frequencies x amplitudes), as TFDS and .npz",
}


def main(argv: list[str]) -> int:
  if argv and argv[0] in parsing.HELP_FLAGS:
    print(parsing.subjects_help("decompjax data", "subcommand", DESCRIPTIONS))
    return 0
  if not argv or argv[0] not in SUBCOMMANDS:
    raise UsageError(f"usage: decompjax data <{'|'.join(SUBCOMMANDS)}> [flags]; got {argv[:1] or 'nothing'} "
                     "(see decompjax data --help)")
  return SUBCOMMANDS[argv[0]](argv[1:])
