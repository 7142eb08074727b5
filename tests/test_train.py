"""The generic trainer: 1 vs 8 devices, bit-identical resume, 8 -> 1 restore, refusing a foreign workdir,
NaN stop keeping the last good checkpoint, Ctrl-C saving before exit (once, committed), one metrics line per
step after a resume, plain progress lines off a terminal, evaluation at the end.

Killing, SIGTERM and signals that arrive in a real subprocess are in tests/faults/."""
import json
import logging
import os
import signal
import threading

import jax
import numpy as np
import pytest

from decompjax import checkpointing, cli, input_pipeline, metric_writer, stop_signals, train
from decompjax.errors import NonFiniteLossError

from syntone_smoke import PRESET, make_config, params_of


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("syntone_data"))


def assert_trees(a, b, **tol):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    if tol:
      np.testing.assert_allclose(x, y, **tol)
    else:
      np.testing.assert_array_equal(x, y)


def test_one_and_eight_devices_agree(data_dir, tmp_path):
  assert jax.device_count() == 8, "conftest must force 8 CPU devices"
  # SGD, so the comparison measures the sharded gradients themselves: Adam's g/sqrt(v) turns float noise on
  # near-zero gradients into +-lr steps, which says nothing about sharding.
  common = {"train.steps": 4, "optim.name": "sgd", "optim.lr": 0.05}
  one = train.train_and_evaluate(make_config(data_dir, **{"mesh.num_devices": 1}, **common), str(tmp_path / "one"))
  eight = train.train_and_evaluate(make_config(data_dir, **{"mesh.num_devices": 8}, **common),
                                   str(tmp_path / "eight"))
  assert len(jax.tree.leaves(eight.params)[0].sharding.device_set) == 8
  assert_trees(params_of(one), params_of(eight), rtol=1e-4, atol=1e-6)
  assert not np.allclose(params_of(one)["decoder"]["Dense_0"]["bias"], 0.0)  # it trained


def test_resume_is_bit_identical(data_dir, tmp_path):
  straight = train.train_and_evaluate(make_config(data_dir, **{"train.steps": 6, "train.ckpt_every": 100}),
                                      str(tmp_path / "straight"))
  work = str(tmp_path / "resumed")
  part = train.train_and_evaluate(make_config(data_dir, **{"train.steps": 3}), work)
  assert int(part.step) == 3
  resumed = train.train_and_evaluate(make_config(data_dir, **{"train.steps": 6}), work)
  assert int(resumed.step) == 6
  assert_trees(params_of(straight), params_of(resumed))
  assert_trees(jax.device_get(straight.opt_state), jax.device_get(resumed.opt_state))
  steps = [json.loads(l)["step"] for l in open(os.path.join(work, "metrics.jsonl"))]
  assert steps == sorted(steps) and steps[-1] == 6


def test_restore_onto_other_device_count(data_dir, tmp_path):
  work = str(tmp_path / "w")
  state8 = train.train_and_evaluate(make_config(data_dir, **{"mesh.num_devices": 8, "train.steps": 2}), work)
  config1 = make_config(data_dir, **{"mesh.num_devices": 1})
  state1 = train.restore_state(config1, work, mesh=train.sharding.make_mesh(1))
  leaf = jax.tree.leaves(state1.params)[0]
  assert leaf.sharding.device_set == {jax.devices()[0]}
  assert_trees(params_of(state8), params_of(state1))


def test_foreign_workdir_refused_untouched(data_dir, tmp_path):
  work = str(tmp_path / "w")
  train.train_and_evaluate(make_config(data_dir, **{"train.steps": 2}), work)
  before = {p: os.path.getmtime(os.path.join(dp, p)) for dp, _, fs in os.walk(work) for p in fs}
  config_before = open(os.path.join(work, "config.json")).read()
  with pytest.raises(checkpointing.CheckpointMismatchError, match="shapes differ"):
    train.train_and_evaluate(make_config(data_dir, **{"model.latent_dim": 4, "train.steps": 4}), work)
  after = {p: os.path.getmtime(os.path.join(dp, p)) for dp, _, fs in os.walk(work) for p in fs}
  assert before == after and open(os.path.join(work, "config.json")).read() == config_before


def test_foreign_family_refused(data_dir, tmp_path):
  work = str(tmp_path / "w")
  state = train.train_and_evaluate(make_config(data_dir, **{"train.steps": 1}), work)
  ckpt = checkpointing.Checkpointer(os.path.join(work, "checkpoints"))
  try:
    with pytest.raises(checkpointing.CheckpointMismatchError, match="model family 'beta_vae'.*'other'"):
      ckpt.check_compatible("other", state)
  finally:
    ckpt.close()


def test_nan_stops_and_keeps_last_good_checkpoint(data_dir, tmp_path):
  work = str(tmp_path / "w")
  train.train_and_evaluate(make_config(data_dir, **{"train.steps": 2, "train.ckpt_every": 2}), work)
  with pytest.raises(NonFiniteLossError, match="last good checkpoint"):
    train.train_and_evaluate(make_config(data_dir, **{"train.steps": 40, "train.ckpt_every": 1,
                                                      "optim.lr": 1e30}), work)
  ckpt = checkpointing.Checkpointer(os.path.join(work, "checkpoints"))
  try:
    last = ckpt.latest_step()
  finally:
    ckpt.close()
  state = train.restore_state(make_config(data_dir), work, step=last)
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(params_of(state)))
  # Finite is not enough (lr=1e30 leaves params ~1e30, finite): the loss *at* the kept state must be finite,
  # so resuming from it with a sane learning rate trains on.
  resumed = train.train_and_evaluate(make_config(data_dir, **{"train.steps": last + 1}), work)
  assert int(resumed.step) == last + 1


def test_metrics_keep_one_line_per_step_after_a_resume(data_dir, tmp_path):
  # A run that stops after logging steps its last checkpoint does not hold: the resumed run recomputes those
  # steps, and only its lines may remain.
  work = str(tmp_path / "w")
  train.train_and_evaluate(make_config(data_dir, **{"train.steps": 2}), work)
  with pytest.raises(NonFiniteLossError):
    train.train_and_evaluate(make_config(data_dir, **{"train.steps": 40, "train.ckpt_every": 100,
                                                      "optim.lr": 1e30}), work)
  assert max(r["step"] for r in metric_writer.read_metrics(work)) > 2  # it logged beyond checkpoint 2
  train.train_and_evaluate(make_config(data_dir, **{"train.steps": 5}), work)
  assert [r["step"] for r in metric_writer.read_metrics(work)] == [1, 2, 3, 4, 5]


def test_ctrl_c_saves_before_exit(data_dir, tmp_path, monkeypatch):
  work = str(tmp_path / "w")
  real = input_pipeline.batched_numpy

  def interrupted(*args, **kwargs):
    for i, batch in enumerate(real(*args, **kwargs)):
      if i == 3:
        raise KeyboardInterrupt
      yield batch

  monkeypatch.setattr(input_pipeline, "batched_numpy", interrupted)
  with pytest.raises(KeyboardInterrupt):
    train.train_and_evaluate(make_config(data_dir, **{"train.steps": 10, "train.ckpt_every": 100}), work)
  ckpt = checkpointing.Checkpointer(os.path.join(work, "checkpoints"))
  try:
    assert ckpt.latest_step() == 3
  finally:
    ckpt.close()
  assert [r["step"] for r in metric_writer.read_metrics(work)] == [1, 2, 3]  # the saved step's line too


def test_ctrl_c_during_a_save_saves_each_step_once(data_dir, tmp_path, monkeypatch, caplog):
  # A real SIGINT right after the step-2 save was handed to orbax (its async write still running): the
  # trainer must not start a second save of step 2 over the first, and only reports saves that committed.
  work = str(tmp_path / "w")
  real_save, calls = checkpointing.Checkpointer.save, []

  def save_then_ctrl_c(self, step, *args, **kwargs):
    calls.append(step)
    out = real_save(self, step, *args, **kwargs)
    if len(calls) == 1:
      os.kill(os.getpid(), signal.SIGINT)
    return out

  monkeypatch.setattr(checkpointing.Checkpointer, "save", save_then_ctrl_c)
  before = signal.getsignal(signal.SIGINT)
  with caplog.at_level(logging.INFO, logger="decompjax"), pytest.raises(KeyboardInterrupt):
    train.train_and_evaluate(make_config(data_dir, **{"train.steps": 10, "train.ckpt_every": 2}), work)
  assert signal.getsignal(signal.SIGINT) is before  # the trainer's handler is gone again
  assert len(calls) == len(set(calls)), calls
  ckpt = checkpointing.Checkpointer(os.path.join(work, "checkpoints"))
  try:
    committed = ckpt.all_steps()
  finally:
    ckpt.close()
  said = [r.getMessage() for r in caplog.records if "saved a checkpoint" in r.getMessage()]
  assert len(said) == 1 and f"at step {max(committed)} " in said[0], said
  assert 2 in committed and not [p for p in os.listdir(os.path.join(work, "checkpoints")) if "tmp" in p]
  monkeypatch.undo()
  resumed = train.train_and_evaluate(make_config(data_dir, **{"train.steps": max(committed) + 1}), work)
  assert int(resumed.step) == max(committed) + 1


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(data_dir, tmp_path, capfd):
  train.train_and_evaluate(make_config(data_dir, **{"train.steps": 3, "train.progress": "true"}),
                           str(tmp_path / "w"))
  err = capfd.readouterr().err
  assert "\r" not in err  # no bar frames in a log file
  assert "step 3/3" in err and "loss" in err


def test_train_command_evaluates_at_the_end_unless_told_not_to(data_dir, tmp_path, capsys):
  base = ["train", f"--config={PRESET}", f"--config.data.dir={data_dir}", "--config.train.steps=2"]
  assert cli.main(base + [f"--workdir={tmp_path / 'off'}", "--config.train.eval_at_end=false"]) == 0
  assert not (tmp_path / "off" / "eval").exists()
  assert cli.main(base + [f"--workdir={tmp_path / 'on'}"]) == 0
  metrics = json.load(open(tmp_path / "on" / "eval" / "metrics.json"))
  assert metrics["step"] == 2 and np.isfinite(metrics["recon_mse"])
  assert str(tmp_path / "on" / "eval") in capsys.readouterr().out


def test_stop_signals_are_deferred_in_the_main_thread_only():
  before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
  with stop_signals.deferred() as stop:
    os.kill(os.getpid(), signal.SIGTERM)  # would end the test process without the trainer's handler
    assert stop.name == "SIGTERM"
    with pytest.raises(KeyboardInterrupt):  # once stopping, Ctrl-C means "now"
      os.kill(os.getpid(), signal.SIGINT)
  assert {s: signal.getsignal(s) for s in before} == before
  seen = []
  thread = threading.Thread(target=lambda: seen.append(stop_signals.deferred().__enter__()))
  thread.start()
  thread.join()
  assert len(seen) == 1 and not seen[0]  # a worker thread (e.g. a notebook's) may not set handlers: no error
