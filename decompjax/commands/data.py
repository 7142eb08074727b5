"""decompjax data syntone --out DIR [grid flags] [--npz PATH]

Generates the SynTone tone grid locally as a TFDS dataset under DIR (what training reads), and optionally
exports the original create.py `.npz` layout. Defaults are create.py's: 4 waveforms x 400 freqs x 20 amps,
16 kHz, 1 s.
"""
from __future__ import annotations

import os

from decompjax.commands import parsing
from decompjax.errors import UsageError


def _syntone(argv: list[str]) -> int:
  p = parsing.Parser("decompjax data syntone", __doc__)
  p.add_argument("--out", required=True, help="TFDS data dir to generate into")
  p.add_argument("--sample-rate", type=int, default=16000)
  p.add_argument("--freq-start", type=float, default=440.0)
  p.add_argument("--freq-end", type=float, default=None, help="default: sample_rate / 2")
  p.add_argument("--num-freqs", type=int, default=400)
  p.add_argument("--amp-start", type=float, default=0.1)
  p.add_argument("--amp-end", type=float, default=1.0)
  p.add_argument("--num-amps", type=int, default=20)
  p.add_argument("--seed", type=int, default=0, help="only used with --random-phase")
  p.add_argument("--band-limited", action="store_true", help="additive synthesis below Nyquist (no aliasing)")
  p.add_argument("--random-phase", action="store_true", help="per-clip random start phase (seeded)")
  p.add_argument("--npz", default=None, help="also export the original .npz layout to this path")
  args = p.parse_args(argv)
  from decompjax.data import syntone  # after parsing: --help and a bad flag answer at once
  grid = syntone.SynToneGrid(sample_rate=args.sample_rate, freq_start=args.freq_start, freq_end=args.freq_end,
                             num_freqs=args.num_freqs, amp_start=args.amp_start, amp_end=args.amp_end,
                             num_amps=args.num_amps, seed=args.seed, band_limited=args.band_limited,
                             random_phase=args.random_phase)
  from decompjax.data import syntone_tfds
  builder = syntone_tfds.build(grid, os.path.abspath(args.out))
  print(f"SynTone grid {grid.fingerprint()}: {grid.num_examples} clips in {builder.data_dir}")
  print(f"  train with: --config.data.dir={os.path.abspath(args.out)} and matching --config.data.grid.* fields")
  if args.npz:
    path = syntone.export_npz(grid, args.npz)
    print(f"  exported original .npz layout to {path}")
  return 0


DATASETS = {"syntone": _syntone}
DESCRIPTIONS = {"syntone": "the SynTone tone grid (4 waveforms x frequencies x amplitudes), as TFDS and .npz"}


def main(argv: list[str]) -> int:
  if argv and argv[0] in parsing.HELP_FLAGS:
    print(parsing.subjects_help("decompjax data", "dataset", DESCRIPTIONS))
    return 0
  if not argv or argv[0] not in DATASETS:
    raise UsageError(f"usage: decompjax data <{'|'.join(DATASETS)}> [flags]; got {argv[:1] or 'nothing'} "
                     "(see decompjax data --help)")
  return DATASETS[argv[0]](argv[1:])
