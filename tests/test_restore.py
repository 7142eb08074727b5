"""Restoring a trained run (train.restore_state, restore.load_run, `decompjax eval`): shapes come from the
family's input_spec, so the training data is never read or generated; overrides are validated; --best."""
import dataclasses
import json

import pytest

from decompjax import cli, config_utils, registry, restore, train
from decompjax.errors import ConfigError

PRESET = "configs/autodecompose.py:smoke"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
  root = tmp_path_factory.mktemp("restore")
  pairs = [("data.cache_dir", str(root / "data")), ("train.progress", "false"), ("train.eval_at_end", "false"),
           ("train.steps", "2"), ("train.eval_every", "1"), ("train.keep_best_by", "val/loss")]
  train.train_and_evaluate(config_utils.build_config(PRESET, pairs), str(root / "w"))
  return root / "w"


def test_restoring_never_reads_or_generates_the_training_data(work, monkeypatch):
  def no_data(*args, **kwargs):
    raise AssertionError("restoring read the training data")

  real = registry.get_family
  monkeypatch.setattr(registry, "get_family",
                      lambda name: dataclasses.replace(real(name), make_dataset=no_data, prepare_data=no_data))
  config = config_utils.load_saved_config(str(work / "config.json"))
  assert int(train.restore_state(config, str(work)).step) == 2
  _, state = restore.load_run(str(work), best=True)
  assert int(state.step) == 2
  assert cli.main(["eval", f"--workdir={work}", "--best"]) == 0  # evaluation reads its own splits, not these
  assert json.load(open(work / "eval" / "metrics.json"))


def test_eval_validates_its_overrides_and_names_one_checkpoint(work, capsys):
  assert cli.main(["eval", f"--workdir={work}", "--config.eval.batch_size=0"]) == 2
  assert "config field 'eval.batch_size' = 0: must be >= 1" in capsys.readouterr().err
  assert cli.main(["eval", f"--workdir={work}", "--best", "--step=1"]) == 2
  assert "--best and --step" in capsys.readouterr().err
  with pytest.raises(ConfigError, match="not 'beta_vae'"):
    restore.load_run(str(work), family="beta_vae")


def test_eval_best_without_a_best_checkpoint_says_how_to_get_one(tmp_path, capsys):
  config = config_utils.build_config(PRESET, [("data.cache_dir", str(tmp_path / "data"))])
  (tmp_path / "w").mkdir()
  config_utils.save_config(config, str(tmp_path / "w" / "config.json"))
  assert cli.main(["eval", f"--workdir={tmp_path / 'w'}", "--best"]) == 2
  assert "keep_best_by" in capsys.readouterr().err
