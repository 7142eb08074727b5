"""decompjax embed --workdir=DIR --encoder=voice|content [--pool=none|mean|file] [--out=DIR] AUDIO...

Writes one .npy per audio file: <out>/<file stem>.<encoder>.npy holding [crops, 64, emb] (pool=none, the
per-frame embeddings), [crops, emb] (mean over each crop's frames) or [emb] (mean over the whole file).
Default out: WORKDIR/embeddings.
"""
from __future__ import annotations

import os

import numpy as np

from decompjax.commands import parsing
from decompjax.errors import UsageError


def main(argv: list[str]) -> int:
  parser = parsing.Parser("decompjax embed", __doc__)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--encoder", choices=("voice", "content"), required=True)
  parser.add_argument("--pool", choices=("none", "mean", "file"), default="none")
  parser.add_argument("--out", default=None)
  parser.add_argument("--step", type=int, default=None)
  parser.add_argument("audio", nargs="*")
  args = parser.parse_args(argv)
  if not args.audio:
    raise UsageError("give at least one audio file to embed")
  from decompjax.autodecompose.embed import embed
  emb, counts = embed(args.workdir, args.audio, args.encoder, "mean" if args.pool == "mean" else
                      ("file" if args.pool == "file" else "none"), step=args.step, return_counts=True)
  out = args.out or os.path.join(args.workdir, "embeddings")
  os.makedirs(out, exist_ok=True)
  start, written = 0, set()
  for i, (path, n) in enumerate(zip(args.audio, counts)):
    part = emb[i] if args.pool == "file" else emb[start:start + n]
    start += n
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in written:  # two inputs with the same file name: keep both
      stem = f"{stem}.{i}"
    written.add(stem)
    target = os.path.join(out, f"{stem}.{args.encoder}.npy")
    np.save(target, part)
    print(f"{path}: {tuple(part.shape)} -> {target}")
  return 0
