"""One process of a multi-process test run: `python -m tests.multihost.child <decompjax CLI args>`.

Before it hands over to `decompjax.cli.main` it installs two recorders, both writing one JSON line per event to
files in $DECOMPJAX_TEST_RECORD named after $DECOMPJAX_PROCESS_ID, flushed at once (a killed process keeps what
it recorded):
- writes.<p>.jsonl: every file this process opened for writing, created, renamed, replaced or removed under
  $DECOMPJAX_TEST_WATCH (a `sys.addaudithook`; writes from C++ - tensorstore/orbax array data, TensorFlow's
  event files and TFRecords - are not seen, so checkpoint folders are judged by their contents instead);
- batches.<p>.jsonl: the example ids of every batch the trainer took from its first input stream (the train
  stream): the `index` field where the family's examples carry one, else a digest of each example's bytes.
The cluster itself is started by the library (decompjax.distributed.maybe_initialize reads the DECOMPJAX_*
variables the harness sets), as for a user's `decompjax launch local`.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _recorder(name: str):
  folder = os.environ["DECOMPJAX_TEST_RECORD"]
  os.makedirs(folder, exist_ok=True)
  f = open(os.path.join(folder, f"{name}.{os.environ.get('DECOMPJAX_PROCESS_ID', '0')}.jsonl"), "a", buffering=1)

  def record(**item) -> None:
    f.write(json.dumps(item) + "\n")
  return record


def _install_write_recorder() -> None:
  watch = os.path.realpath(os.environ["DECOMPJAX_TEST_WATCH"])
  own = os.path.realpath(os.environ["DECOMPJAX_TEST_RECORD"]) + os.sep  # the recordings themselves
  record = _recorder("writes")
  busy = [False]

  def is_watched(path) -> str | None:
    if isinstance(path, int) or path is None:
      return None
    try:
      full = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
      return None
    inside = full == watch or full.startswith(watch + os.sep)
    return full if inside and not (full + os.sep).startswith(own) else None

  def hook(event: str, args) -> None:
    if busy[0]:
      return
    if event == "open":
      path, mode, flags = args
      writing = (mode is not None and any(c in mode for c in "wax+")) or (mode is None and flags & _WRITE_FLAGS)
      targets = [path] if writing else []
    elif event in ("os.rename", "os.replace"):
      targets = [args[1]]
    elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.truncate", "shutil.rmtree"):
      targets = [args[0]]
    else:
      return
    busy[0] = True  # realpath and the record's own write must not re-enter
    try:
      for target in targets:
        full = is_watched(target)
        if full is not None:
          record(event=event, path=full)
    finally:
      busy[0] = False
  sys.addaudithook(hook)


def _example_ids(batch: dict) -> list:
  if "index" in batch:
    return [int(i) for i in batch["index"].reshape(len(batch["index"]), -1)[:, 0]]
  keys = sorted(batch)
  n = len(batch[keys[0]])
  return [hashlib.sha1(b"".join(batch[k][i].tobytes() for k in keys)).hexdigest()[:16] for i in range(n)]


def _install_batch_recorder() -> None:
  from decompjax import input_pipeline
  record = _recorder("batches")
  original = input_pipeline.batched_numpy
  calls = [0]

  def recording(*args, **kwargs):
    stream, call = original(*args, **kwargs), calls[0]
    calls[0] += 1
    if call:  # only the first stream of the process: the train stream (validation streams come later)
      return stream

    def batches():
      for step, batch in enumerate(stream):
        record(step=step + kwargs.get("start_step", 0), ids=_example_ids(batch))
        yield batch
    return batches()
  input_pipeline.batched_numpy = recording


def _register_test_families() -> None:
  """$DECOMPJAX_TEST_FAMILIES='name=package.module:ATTR,...': families only the tests define (the toy one)."""
  from decompjax import registry
  for item in filter(None, os.environ.get("DECOMPJAX_TEST_FAMILIES", "").split(",")):
    name, target = item.split("=", 1)
    registry.register(name, target)


def main() -> int:
  _install_write_recorder()
  _install_batch_recorder()
  _register_test_families()
  from decompjax import cli
  return cli.main(sys.argv[1:])


if __name__ == "__main__":
  sys.exit(main())
