"""README "Adding a model family": the toy family it quotes (tests/toy_family.py) is registered, trained for 3
steps by the generic trainer, restored and evaluated, with no change anywhere in decompjax/."""
import json
import os

from decompjax import config_utils, registry, train
from decompjax.evaluation import report

TOY_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_family.py")


def test_the_walk_through_is_under_100_lines_and_quoted_in_the_readme():
  with open(TOY_FILE, encoding="utf-8") as f:
    lines = f.read().splitlines()
  assert len(lines) < 100
  with open(os.path.join(os.path.dirname(TOY_FILE), os.pardir, "README.md"), encoding="utf-8") as f:
    readme = f.read()
  assert "tests/toy_family.py" in readme and "TOY = Family(" in readme


def test_a_registered_toy_family_trains_restores_and_evaluates(tmp_path):
  registry.register("toy", "tests.toy_family:TOY")
  config = config_utils.build_config(TOY_FILE, [("train.steps", "3"), ("train.progress", "false"),
                                                ("train.eval_every", "2"), ("train.eval_at_end", "true")])
  workdir = str(tmp_path / "toy")
  state = train.train_and_evaluate(config, workdir)
  assert int(state.step) == 3
  with open(os.path.join(workdir, "eval", "metrics.json")) as f:
    written = json.load(f)
  assert written["recon_mse"] > 0

  saved = config_utils.load_saved_config(os.path.join(workdir, "config.json"))
  restored = train.restore_state(saved, workdir)
  assert int(restored.step) == 3
  assert report.evaluate_and_write(registry.get_family("toy"), saved, restored, workdir) == written
