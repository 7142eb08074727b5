"""decompjax.fileio: the one path layer, on local paths and on a gs:// object store (tests/fake_gcs.py)."""
import errno
import os

import pytest

import fake_gcs
from decompjax import fileio


def test_absolute_keeps_urls_and_makes_local_paths_absolute(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert fileio.absolute("gs://bucket/run") == "gs://bucket/run"  # os.path.abspath: <cwd>/gs:/bucket/run
  assert fileio.absolute("run") == os.path.join(str(tmp_path), "run")
  assert fileio.absolute("~/x") == os.path.join(os.path.expanduser("~"), "x")
  assert fileio.is_remote("gs://b/x") and fileio.is_remote("s3://b/x") and not fileio.is_remote("/b/x")
  assert fileio.join("gs://bucket/run", "eval", "metrics.json") == "gs://bucket/run/eval/metrics.json"


def test_atomic_write_replaces_whole_and_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
  path = tmp_path / "config.json"
  fileio.write_text_atomic(path, "old")
  fileio.write_text_atomic(path, "new")
  assert path.read_text() == "new"

  def failing_replace(src, dst):
    raise OSError(errno.ENOSPC, "No space left on device")
  monkeypatch.setattr(os, "replace", failing_replace)
  with pytest.raises(OSError, match="No space"):
    fileio.write_text_atomic(path, "half")
  monkeypatch.undo()
  assert path.read_text() == "new"  # the old file untouched
  assert os.listdir(tmp_path) == ["config.json"]  # and no temporary file left behind


def test_listdir_and_walk_files_are_sorted(tmp_path):
  for rel in ("b/2.txt", "b/1.txt", "a.txt", "c/d/e.txt"):
    fileio.makedirs(os.path.dirname(tmp_path / rel))
    fileio.write_text_atomic(tmp_path / rel, rel)
  assert fileio.listdir(tmp_path) == ["a.txt", "b", "c"]
  assert [os.path.relpath(p, tmp_path) for p in fileio.walk_files(tmp_path)] == [
      "a.txt", "b/1.txt", "b/2.txt", "c/d/e.txt"]


def test_check_writable_names_the_folder(tmp_path):
  fileio.check_writable(tmp_path)
  assert os.listdir(tmp_path) == []  # the probe is gone
  with pytest.raises(OSError) as info:
    fileio.check_writable(tmp_path / "missing")
  assert info.value.errno == errno.ENOENT and info.value.filename == str(tmp_path / "missing")


def test_the_same_calls_on_a_gcs_bucket(monkeypatch):
  with fake_gcs.serve(monkeypatch) as store:
    run = "gs://bucket/run"
    fileio.makedirs(fileio.join(run, "eval"))
    assert fileio.isdir(run) and fileio.isdir(fileio.join(run, "eval"))
    fileio.write_text_atomic(fileio.join(run, "config.json"), '{"a": 1}')
    fileio.write_bytes_atomic(fileio.join(run, "eval", "x.npy"), b"\x00\x01")
    with fileio.open(fileio.join(run, "eval", "t.md"), "w") as f:
      f.write("table")
    assert store.get("bucket/run/config.json")[0] == b'{"a": 1}'  # an object in the bucket, nothing local
    assert fileio.read_text(fileio.join(run, "config.json")) == '{"a": 1}'
    assert fileio.read_bytes(fileio.join(run, "eval", "x.npy")) == b"\x00\x01"
    assert fileio.isfile(fileio.join(run, "config.json")) and not fileio.isdir(fileio.join(run, "config.json"))
    assert not fileio.exists(fileio.join(run, "nothing"))
    assert fileio.listdir(run) == ["config.json", "eval"]
    assert list(fileio.walk_files(run)) == [f"{run}/config.json", f"{run}/eval/t.md", f"{run}/eval/x.npy"]
    fileio.check_writable(run)
    fileio.rename(fileio.join(run, "eval"), fileio.join(run, "eval-old"))
    assert fileio.listdir(run) == ["config.json", "eval-old"]
    fileio.remove(fileio.join(run, "config.json"))
    fileio.rmtree(fileio.join(run, "eval-old"))
    assert [k for k in store.keys("bucket/run/") if not k.endswith("/")] == []
