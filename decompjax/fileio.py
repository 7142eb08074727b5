"""One path layer for workdirs and datasets: local paths and object stores (gs://, s3://) alike.

Every read and write of a workdir (config.json, metrics, eval outputs, best.json) or a generated dataset goes
through here, so `--workdir=gs://bucket/run` works on a pod: `open`/`os`/`pathlib` only know local files.
Backed by `etils.epath` (what orbax uses): local paths go to the OS, `gs://` to tf.io.gfile (TensorFlow is a
dependency anyway) or fsspec.

Atomic writes: locally a temporary file, fsync and `os.replace`; on an object store one object upload, which
readers see whole or not at all.
"""
from __future__ import annotations

import builtins
import os
import socket
from typing import IO, Iterator

from etils import epath


def is_remote(p) -> bool:
  """True for URLs such as gs://bucket/x (anything with a scheme); False for local paths."""
  return "://" in os.fspath(p)


def path(p) -> epath.Path:
  return epath.Path(p)


def absolute(p) -> str:
  """A local path made absolute (and ~ expanded); a remote one as it is (abspath would mangle 'gs://')."""
  p = os.fspath(p)
  return p if is_remote(p) else os.path.abspath(os.path.expanduser(p))


def join(first, *rest) -> str:
  """os.path.join that keeps a URL's '//' (os.path.join does too, but says so here, once)."""
  return os.path.join(os.fspath(first), *map(os.fspath, rest))


def exists(p) -> bool:
  return epath.Path(p).exists()


def isdir(p) -> bool:
  return epath.Path(p).is_dir()


def isfile(p) -> bool:
  return epath.Path(p).is_file()


def makedirs(p) -> None:
  epath.Path(p).mkdir(parents=True, exist_ok=True)


def open(p, mode: str = "r", encoding: str | None = None) -> IO:  # noqa: A001 (the file API's own name)
  if "b" not in mode and encoding is None:
    encoding = "utf-8"
  return epath.Path(p).open(mode, encoding=encoding) if "b" not in mode else epath.Path(p).open(mode)


def read_text(p) -> str:
  return epath.Path(p).read_text(encoding="utf-8")


def read_bytes(p) -> bytes:
  return epath.Path(p).read_bytes()


def _unique_suffix() -> str:
  """Names a temporary file no other writer uses: hosts of a pod share a filesystem, and pids repeat across hosts."""
  return f"{socket.gethostname()}-{os.getpid()}"


def write_bytes_atomic(p, data: bytes) -> str:
  """Writes `data` to p so that a reader never sees a partial file; returns p. A failed local write leaves no
  temporary file behind (and the old p untouched)."""
  p = os.fspath(p)
  if is_remote(p):
    epath.Path(p).write_bytes(data)
    return p
  tmp = f"{p}.tmp-{_unique_suffix()}"
  try:
    with builtins.open(tmp, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, p)
  except BaseException:
    if os.path.lexists(tmp):
      os.remove(tmp)
    raise
  return p


def write_text_atomic(p, text: str) -> str:
  return write_bytes_atomic(p, text.encode("utf-8"))


def listdir(p) -> list[str]:
  """The names (not paths) in directory p, sorted."""
  return sorted(child.name for child in epath.Path(p).iterdir())


def walk_files(p) -> Iterator[str]:
  """Every file below directory p, as paths that start with p (gs:// kept: fsspec's walk drops the scheme):
  a folder's files in sorted order, then its sub-folders' in sorted order."""
  files, dirs = [], []
  for child in sorted(epath.Path(p).iterdir(), key=lambda c: c.name):
    (dirs if child.is_dir() else files).append(child.name)
  for name in files:
    yield join(p, name)
  for name in dirs:
    yield from walk_files(join(p, name))


def remove(p) -> None:
  epath.Path(p).unlink()


def rmtree(p) -> None:
  epath.Path(p).rmtree()


def check_writable(directory) -> None:
  """Raises OSError (errno, directory) unless something can be created in `directory`: locally a probe folder
  (a full disk refuses even that), on an object store a probe object; either is removed again."""
  probe = join(directory, f".write-probe-{_unique_suffix()}")
  if is_remote(directory):
    epath.Path(probe).write_bytes(b"")
    epath.Path(probe).unlink()
    return
  try:
    os.mkdir(probe)
    os.rmdir(probe)
  except OSError as e:
    raise OSError(e.errno, e.strerror, os.fspath(directory)) from None


def rename(src, dst) -> None:
  """Moves src to dst (a directory too). On an object store this is a copy and a delete, not atomic."""
  epath.Path(src).rename(dst)
