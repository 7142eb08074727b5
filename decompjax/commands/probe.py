"""decompjax probe speaker --workdir=DIR [--data.dir=CORPUS] [--seconds=10,15,30,60,120] [--seeds=5]
[--pool=mean|flatten] [--out=DIR] [--config.a.b=value ...]

Few-shot speaker identification on E_s, E_c and raw-mel crop vectors (decompjax.autodecompose.probe): for each
k seconds of labelled audio per speaker a logistic regression is trained and scored by macro-F1 on held-out
utterances of the same speakers, repeated over seeds. Without --data.dir the run's own data is probed
(SimVowels: its unseen 'test' speakers). Writes speaker_probe.csv / .md and tsne_speakers.png.
"""
from __future__ import annotations

import os

from decompjax import config_utils
from decompjax.commands import parsing
from decompjax.errors import UsageError

PROBES = {"speaker": "few-shot speaker identification (macro-F1) on E_s, E_c and raw-mel crop vectors"}


def main(argv: list[str]) -> int:
  if argv and argv[0] in parsing.HELP_FLAGS:
    print(parsing.subjects_help("decompjax probe", "probe", PROBES, overrides=True))
    return 0
  if not argv or argv[0] not in PROBES:
    raise UsageError("usage: decompjax probe speaker --workdir=DIR [--data.dir=CORPUS] (only the 'speaker' "
                     "probe exists)")
  spec, overrides, rest = config_utils.split_config_args(argv[1:])
  if spec:
    raise UsageError("probe reads the config saved in the workdir; override fields with --config.a.b=value")
  parser = parsing.Parser("decompjax probe speaker", __doc__, overrides=True)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--data.dir", dest="data_dir", default=None,
                      help="LibriSpeech-layout folder to probe (default: the run's data)")
  parser.add_argument("--split", default=None, help="split to probe (default: config.probe.split; 'all' for a "
                      "corpus given with --data.dir)")
  parser.add_argument("--seconds", default=None, help="comma-separated seconds per speaker")
  parser.add_argument("--seeds", type=int, default=None)
  parser.add_argument("--pool", choices=("mean", "flatten"), default=None)
  parser.add_argument("--out", default=None, help="output folder (default: WORKDIR/probe)")
  parser.add_argument("--step", type=int, default=None)
  args = parser.parse_args(rest)
  if args.data_dir is not None:
    overrides.append(("data.dir", args.data_dir))
  try:
    seconds = tuple(float(s) if "." in s else int(s) for s in args.seconds.split(",")) if args.seconds else None
  except ValueError:
    raise UsageError(f"--seconds={args.seconds!r}: expected comma-separated numbers") from None

  from decompjax.autodecompose import data, inference, probe
  config, state = inference.load_trained(args.workdir, args.step, overrides)
  p = config.probe
  split = args.split or ("all" if args.data_dir else p.split)
  crops = data.load_crops(config, split)
  out = args.out or os.path.join(args.workdir, "probe")
  rows = probe.run(config, state, crops, out, seconds=seconds or tuple(p.seconds),
                   seeds=args.seeds or p.seeds, pool=args.pool or p.pool, test_fraction=p.test_fraction,
                   tsne_points=p.tsne_points, batch_size=config.eval.batch_size)
  print(f"speaker-ID macro-F1 (%), {crops.source}, {len(set(crops.speaker.tolist()))} speakers, "
        f"pool={args.pool or p.pool}:")
  print(probe.markdown_table(rows))
  print(f"wrote {out}/ (speaker_probe.csv, speaker_probe.md, tsne_speakers.png)")
  return 0
