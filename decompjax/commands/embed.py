"""decompjax embed --workdir=DIR --encoder=voice|content [--pool=none|mean|file] [--out=DIR] [--step=N] AUDIO...

Writes one .npy per audio file: <out>/<file stem>.<encoder>.npy holding [crops, 64, emb] (pool=none, the
per-frame embeddings), [crops, emb] (mean over each crop's frames) or [emb] (mean over the whole file).
Default out: WORKDIR/embeddings.

From Python: `decompjax.commands.embed.embed(workdir, paths, encoder="voice")` returns the array.
"""
from __future__ import annotations

import io
import os

import numpy as np

from decompjax import config_utils, cpu_devices, fileio
from decompjax.commands import parsing
from decompjax.errors import UsageError


def embed(workdir: str, audio_paths, encoder: str = "voice", pool: str = "none", *, step: int | None = None,
          batch_size: int = 256, return_counts: bool = False):
  """Embeddings of audio files by the trained Autodecompose run in `workdir` (the notebook's encoder_p /
  encoder_q API). Each file is read, mixed to mono, resampled to 16 kHz, turned into the run's mel front end and
  cut into 64-frame crops (a file shorter than one crop, ~1.02 s, is an error naming it); the crops of all files
  are stacked in order. -> [N_crops, 64, emb] (pool='none'), [N_crops, emb] ('mean': over each crop's frames)
  or [N_files, emb] ('file': over all frames of a file); (embeddings, crops per file) if return_counts."""
  from decompjax import distributed, restore
  from decompjax.families.autodecompose import evaluate
  audio_paths = evaluate.check_embed_request(audio_paths, encoder, pool)  # before restoring anything
  distributed.maybe_initialize()  # on a cluster: every process restores and embeds, sharded over all devices
  config, state = restore.load_run(workdir, step, family="autodecompose", training_mesh=True)
  return evaluate.embed_files(config, state, audio_paths, encoder, pool, batch_size, return_counts)


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
  # The split is decided here, at the entry, from the run's saved config (JAX fixes it when it starts);
  # embed() itself, the library call, leaves it alone.
  cpu_devices.configure_for(config_utils.load_saved_config(fileio.join(args.workdir, "config.json")))
  emb, counts = embed(args.workdir, args.audio, args.encoder, args.pool, step=args.step, return_counts=True)
  from decompjax import distributed
  if not distributed.is_writer():  # every process computed the embeddings; process 0 writes them
    return 0
  out = args.out or fileio.join(args.workdir, "embeddings")
  fileio.makedirs(out)
  start, written = 0, set()
  for i, (path, n) in enumerate(zip(args.audio, counts)):
    part = emb[i] if args.pool == "file" else emb[start:start + n]
    start += n
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in written:  # two inputs with the same file name: keep both
      stem = f"{stem}.{i}"
    written.add(stem)
    target = fileio.join(out, f"{stem}.{args.encoder}.npy")
    buf = io.BytesIO()
    np.save(buf, part)
    fileio.write_bytes_atomic(target, buf.getvalue())
    print(f"{path}: {tuple(part.shape)} -> {target}")
  return 0
