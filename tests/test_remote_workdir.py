"""`--workdir=gs://…`: the whole train -> resume -> restore -> eval flow against a fake GCS (tests/fake_gcs.py).

What is exercised: orbax's gs:// code paths (commit files instead of renames, keep-last-N deletion, step listing
with the bucket-layout query of google-cloud-storage) with every array going through tensorstore's real `gcs`
driver over HTTP; every other file (config.json, metrics.jsonl, TensorBoard events, best.json, eval outputs)
through decompjax.fileio -> etils.epath -> fsspec, on the same object store. What is not: tf.io.gfile's own
GCS client (epath's default backend when TensorFlow is installed) and real authentication.
The process-0 rule (only the writer process writes shared files) is checked here in one process by making it
a non-writer; tests/multihost run it with real processes.
"""
import json
import os

import pytest

import fake_gcs
from decompjax import config_utils, distributed, metric_writer, registry, restore, train
from decompjax.evaluation import report

TOY_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_family.py")
WORKDIR = "gs://bucket/runs/toy"


def toy_config(steps: int, *more):
  registry.register("toy", "tests.toy_family:TOY")
  return config_utils.build_config(TOY_FILE, [
      ("train.steps", str(steps)), ("train.progress", "false"), ("train.log_every", "1"),
      ("train.ckpt_every", "2"), ("train.keep_ckpts", "2"), ("train.eval_every", "2"),
      ("train.keep_best_by", "val/loss"), ("train.eval_at_end", "true"), *more])


@pytest.fixture
def gcs(monkeypatch, tmp_path):
  """The fake GCS, and an empty current directory: a gs:// path mangled into a local one (os.path.abspath
  makes gs://b/x <cwd>/gs:/b/x) would land there."""
  monkeypatch.chdir(tmp_path)
  with fake_gcs.serve(monkeypatch) as store:
    yield store
  assert os.listdir(tmp_path) == [], "something wrote a gs:// path to the local disk"


def objects(store, under=WORKDIR):
  """The object names below `under` (folder placeholders left out)."""
  prefix = under.removeprefix("gs://") + "/"
  return [k[len(prefix):] for k in store.keys(prefix) if not k.endswith("/")]


def test_train_resume_restore_and_eval_on_gcs(gcs):
  state = train.train_and_evaluate(toy_config(3), WORKDIR)
  assert int(state.step) == 3
  names = objects(gcs)
  for expected in ("config.json", "metrics.jsonl", "eval/metrics.json", "checkpoints_best/best.json",
                   "checkpoints/3/commit_success.txt", "checkpoints/2/commit_success.txt"):
    assert expected in names, (expected, names)
  assert any(n.startswith("tensorboard/events.out.tfevents") for n in names), names
  # The arrays went through tensorstore's gcs driver (HTTP), not through a local file.
  assert any(r.startswith("PUT bucket/runs/toy/checkpoints/3/state/") for r in gcs.requests)
  assert [r["step"] for r in metric_writer.read_metrics(WORKDIR) if "train/loss" in r] == [1, 2, 3]
  best = train.read_best_record(WORKDIR)
  assert best["metric"] == "loss" and best["step"] == 2
  evaluated = json.loads(gcs.get("bucket/runs/toy/eval/metrics.json")[0])
  assert evaluated["recon_mse"] > 0

  # Resume from gs:// (the metrics of steps beyond the checkpoint are dropped on the object store too).
  state = train.train_and_evaluate(toy_config(5), WORKDIR)
  assert int(state.step) == 5
  assert [r["step"] for r in metric_writer.read_metrics(WORKDIR) if "train/loss" in r] == [1, 2, 3, 4, 5]
  steps = sorted(int(n.split("/")[1]) for n in objects(gcs) if n.startswith("checkpoints/")
                 and n.endswith("/commit_success.txt") and n.count("/") == 2)
  assert steps == [4, 5]  # keep_ckpts=2: orbax deleted the older steps on the object store

  # What `decompjax eval` does: the saved config and the newest checkpoint, read back from gs://.
  config, restored = restore.load_run(WORKDIR, family="toy")
  assert int(restored.step) == 5 and config.train.steps == 5
  again = report.evaluate_and_write(registry.get_family("toy"), config, restored, WORKDIR)
  assert again == json.loads(gcs.get("bucket/runs/toy/eval/metrics.json")[0])
  _, best_state = restore.load_run(WORKDIR, family="toy", best=True)
  assert int(best_state.step) == train.read_best_record(WORKDIR)["step"]


def test_a_process_that_is_not_the_writer_writes_no_shared_file(gcs, monkeypatch):
  """Process 0 alone writes config.json, metrics, TensorBoard, best.json and eval outputs (every host saving
  config.json at the same moment races); checkpoints are orbax's, written by every process."""
  monkeypatch.setattr(distributed, "is_writer", lambda: False)
  train.train_and_evaluate(toy_config(3), WORKDIR)
  names = objects(gcs)
  assert names and all(n.startswith(("checkpoints/", "checkpoints_best/")) for n in names), names
  assert "checkpoints_best/best.json" not in names


def test_every_kind_of_eval_output_is_written_to_gcs(gcs):
  """A Report's metrics, tables, figures (PNG), audio (WAV) and arrays (.npy), each one object under eval/."""
  import io

  import matplotlib.pyplot as plt
  import numpy as np
  import soundfile

  fig = plt.figure()
  plt.plot([0, 1], [1, 0])
  wave = np.sin(np.linspace(0, 100, 800))
  rep = report.Report(metrics={"mse": 0.5}, tables={"scores.md": "| a |\n"}, figures={"curve": fig},
                      audio={"clip": (wave, 8000)}, arrays={"z": np.arange(6).reshape(2, 3)})
  written = report.write_report(rep, WORKDIR)
  assert sorted(written) == [f"{WORKDIR}/eval/{n}" for n in ("clip.wav", "curve.png", "metrics.json", "scores.md",
                                                              "z.npy")]
  assert sorted(objects(gcs, WORKDIR + "/eval")) == ["clip.wav", "curve.png", "metrics.json", "scores.md", "z.npy"]
  blob = lambda name: gcs.get(f"bucket/runs/toy/eval/{name}")[0]  # noqa: E731
  assert json.loads(blob("metrics.json")) == {"mse": 0.5}
  assert blob("curve.png").startswith(b"\x89PNG")
  audio, rate = soundfile.read(io.BytesIO(blob("clip.wav")))
  assert rate == 8000 and audio.shape == (800,)
  np.testing.assert_array_equal(np.load(io.BytesIO(blob("z.npy"))), np.arange(6).reshape(2, 3))
  # Another process computes the same report and writes nothing.
  assert report.write_report(report.Report(metrics={"mse": 9.0}), WORKDIR, process_index=1) == []
  assert json.loads(blob("metrics.json")) == {"mse": 0.5}


def test_gcs_checkpoints_without_google_cloud_storage_is_one_clear_error(monkeypatch):
  """orbax lists gs:// steps through google-cloud-storage; without it the failure would surface in a thread."""
  import sys

  from decompjax import checkpointing
  from decompjax.errors import UsageError
  monkeypatch.setitem(sys.modules, "google.cloud.storage", None)  # import fails as if not installed
  with pytest.raises(UsageError, match="google-cloud-storage"):
    checkpointing.Checkpointer(WORKDIR + "/checkpoints")
