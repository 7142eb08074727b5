"""decompjax probe speaker --workdir=DIR [--config.data.dir=CORPUS] [--seconds=10,15,30,60,120] [--seeds=5]
[--pool=mean|flatten] [--split=NAME] [--out=DIR] [--step=N] [--config.a.b=value ...]

Few-shot speaker identification on E_s, E_c and raw-mel crop vectors (decompjax.evaluation.few_shot): for each
k seconds of labelled audio per speaker a logistic regression is trained and scored by macro-F1 on held-out
utterances of the same speakers, repeated over seeds. Without --config.data.dir the run's own data is probed
(SimVowels: its unseen 'test' speakers); with it, every file of that LibriSpeech-layout folder (split 'all').
Writes speaker_probe.csv / .md and tsne_speakers.png.
"""
from __future__ import annotations

from decompjax import config_utils, cpu_devices, fileio
from decompjax.commands import parsing
from decompjax.errors import UsageError

PROBES = {"speaker": "few-shot speaker identification (macro-F1) on E_s, E_c and raw-mel crop vectors"}


def main(argv: list[str]) -> int:
  if argv and argv[0] in parsing.HELP_FLAGS:
    print(parsing.subjects_help("decompjax probe", "probe", PROBES, overrides=True))
    return 0
  if not argv or argv[0] not in PROBES:
    raise UsageError("usage: decompjax probe speaker --workdir=DIR [--config.data.dir=CORPUS] (only the "
                     "'speaker' probe exists)")
  spec, overrides, rest = config_utils.split_config_args(argv[1:])
  if spec:
    raise UsageError("probe reads the config saved in the workdir; override fields with --config.a.b=value")
  parser = parsing.Parser("decompjax probe speaker", __doc__, overrides=True)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--split", default=None, help="split to probe (default: config.probe.split; 'all' for a "
                      "corpus given with --config.data.dir)")
  parser.add_argument("--seconds", default=None, help="comma-separated seconds per speaker")
  parser.add_argument("--seeds", type=int, default=None)
  parser.add_argument("--pool", choices=("mean", "flatten"), default=None)
  parser.add_argument("--out", default=None, help="output folder (default: WORKDIR/probe)")
  parser.add_argument("--step", type=int, default=None)
  args = parser.parse_args(rest)
  try:
    seconds = tuple(float(s) if "." in s else int(s) for s in args.seconds.split(",")) if args.seconds else None
  except ValueError:
    raise UsageError(f"--seconds={args.seconds!r}: expected comma-separated numbers") from None
  corpus_given = bool(dict(overrides).get("data.dir"))

  # The split is decided here, at the entry, from the run's saved config (JAX fixes it when it starts); then the
  # cluster starts as for `train`, and the run is restored onto the full mesh (every device of every host).
  cpu_devices.configure_for(config_utils.load_saved_config(fileio.join(args.workdir, "config.json"), overrides))
  from decompjax import distributed, restore
  from decompjax.evaluation import figures
  from decompjax.families.autodecompose import data, evaluate
  distributed.maybe_initialize()
  config, state = restore.load_run(args.workdir, args.step, overrides, family="autodecompose", training_mesh=True)
  crops = data.load_crops(config, args.split or ("all" if corpus_given else config.probe.split))
  out = args.out or fileio.join(args.workdir, "probe")
  # Every process embeds (the encoders run sharded over all of them) and fits the probe; process 0 writes.
  report = evaluate.speaker_probe(config, state, crops, seconds=seconds, seeds=args.seeds, pool=args.pool)
  if not distributed.is_writer():
    import matplotlib.pyplot as plt
    for fig in report.figures.values():
      plt.close(fig)
    return 0
  fileio.makedirs(out)
  for name, text in report.tables.items():
    fileio.write_text_atomic(fileio.join(out, name), text)
  for name, fig in report.figures.items():
    figures.save_figure(fig, fileio.join(out, name + ".png"))
  print(f"speaker-ID macro-F1 (%), {crops.source}, {len(set(crops.speaker.tolist()))} speakers, "
        f"pool={args.pool or config.probe.pool}:")
  print(report.tables["speaker_probe.md"], end="")
  print(f"wrote {out}/ ({', '.join(list(report.tables) + [n + '.png' for n in report.figures])})")
  return 0
