"""The trainer's side of the family contract (v2): one optimizer per run shared by init and step, resolve_config
before config.json, prepare_data before make_dataset, the first batch checked against input_spec, and the
best-by-validation checkpoint with early stopping (train.keep_best_by, train.early_stop_patience)."""
import dataclasses
import json
import os

import pytest

from decompjax import config_utils, metric_writer, registry, restore, train
from decompjax.errors import ConfigError, DataError

PRESET = "configs/autodecompose.py:smoke"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("simvowels"))


def make_config(cache_dir, **overrides):
  pairs = [("data.cache_dir", cache_dir), ("train.progress", "false"), ("train.eval_at_end", "false")]
  return config_utils.build_config(PRESET, pairs + [(k, str(v)) for k, v in overrides.items()])


def use_family(monkeypatch, **changes):
  """The trainer (and restore) get the real family with `changes` (the Family is frozen: a changed copy)."""
  real = registry.get_family
  monkeypatch.setattr(registry, "get_family", lambda name: dataclasses.replace(real(name), **changes))
  return real("autodecompose")


def test_the_optimizer_is_built_once_and_shared_by_init_and_step(cache_dir, tmp_path, monkeypatch):
  real = registry.get_family("autodecompose")
  built, given = [], []

  def make_tx(config):
    built.append(real.make_tx(config))
    return built[-1]

  def make_train_step(config, tx=None):
    given.append(tx)
    return real.make_train_step(config, tx)

  use_family(monkeypatch, make_tx=make_tx, make_train_step=make_train_step)
  train.train_and_evaluate(make_config(cache_dir, **{"train.steps": 1}), str(tmp_path / "w"))
  # init_state(config, rng, example, tx=None) would build its own: one build means init got the run's tx
  assert len(built) == 1 and given == built


def test_resolve_config_runs_before_the_save_and_prepare_data_before_the_data(cache_dir, tmp_path, monkeypatch):
  calls = []

  def resolve_config(config):
    calls.append("resolve")
    config.data.shuffle_buffer = 7  # stands in for a data-dependent field (a UCR set's length)

  def prepare_data(config):
    calls.append("prepare")
    real.prepare_data(config)

  def make_dataset(config, split, **kw):
    calls.append("dataset")
    return real.make_dataset(config, split, **kw)

  real = use_family(monkeypatch, resolve_config=resolve_config, prepare_data=prepare_data,
                    make_dataset=make_dataset)
  work = tmp_path / "w"
  train.train_and_evaluate(make_config(cache_dir, **{"train.steps": 1}), str(work))
  assert calls[:3] == ["resolve", "prepare", "dataset"]
  assert json.load(open(work / "config.json"))["data"]["shuffle_buffer"] == 7


def test_data_that_disagrees_with_input_spec_is_refused_before_the_workdir(cache_dir, tmp_path, monkeypatch):
  real = registry.get_family("autodecompose")

  def input_spec(config):
    spec = real.input_spec(config)
    mel = spec["mel"]
    return {**spec, "mel": type(mel)(mel.shape[:-1] + (mel.shape[-1] + 1,), mel.dtype)}

  use_family(monkeypatch, input_spec=input_spec)
  with pytest.raises(DataError, match="does not match its input_spec.*mel"):
    train.train_and_evaluate(make_config(cache_dir, **{"train.steps": 1}), str(tmp_path / "w"))
  assert not (tmp_path / "w").exists()


def test_keep_best_and_early_stop_need_a_validation_pass(cache_dir, tmp_path, monkeypatch):
  with pytest.raises(ConfigError, match="train.keep_best_by.*eval_every > 0"):
    make_config(cache_dir, **{"train.keep_best_by": "val/loss"})
  with pytest.raises(ConfigError, match="early_stop_patience.*needs train.keep_best_by"):
    make_config(cache_dir, **{"train.eval_every": 1, "train.early_stop_patience": 2})
  with pytest.raises(ConfigError, match="keep_best_mode"):
    make_config(cache_dir, **{"train.keep_best_mode": "lowest"})
  config = make_config(cache_dir, **{"train.eval_every": 1, "train.keep_best_by": "val/accuracy"})
  with pytest.raises(ConfigError, match="reports val/loss"):  # a metric the validation step does not return
    train.train_and_evaluate(config, str(tmp_path / "w"))
  assert not (tmp_path / "w").exists()
  use_family(monkeypatch, make_eval_step=None)  # a family without a validation step
  with pytest.raises(ConfigError, match="no validation step"):
    train.train_and_evaluate(make_config(cache_dir, **{"train.eval_every": 1, "train.keep_best_by": "val/loss"}),
                             str(tmp_path / "w"))
  assert not (tmp_path / "w").exists()


def test_best_checkpoint_is_kept_apart_and_early_stop_ends_the_run(cache_dir, tmp_path):
  work = str(tmp_path / "w")
  # mode 'max' on a falling loss: step 1 stays the best, so 2 passes later (step 3) training stops early.
  config = make_config(cache_dir, **{"train.steps": 20, "train.eval_every": 1, "train.keep_best_by": "val/loss",
                                     "train.keep_best_mode": "max", "train.early_stop_patience": 2,
                                     "train.ckpt_every": 1, "train.keep_ckpts": 1})
  state = train.train_and_evaluate(config, work)
  assert int(state.step) == 3
  assert os.listdir(os.path.join(work, "checkpoints")) == ["3"]  # the final checkpoint is written
  best_dir = os.path.join(work, "checkpoints_best")
  assert sorted(os.listdir(best_dir)) == ["1", "best.json"]  # keep_ckpts=1 did not delete the best
  record = json.load(open(os.path.join(best_dir, "best.json")))
  val = {r["step"]: r["val/loss"] for r in metric_writer.read_metrics(work) if "val/loss" in r}
  assert record == {"metric": "loss", "mode": "max", "step": 1, "value": pytest.approx(val[1])}
  assert sorted(val) == [1, 2, 3]
  _, best = restore.load_run(work, best=True)
  _, last = restore.load_run(work)
  assert (int(best.step), int(last.step)) == (1, 3)
