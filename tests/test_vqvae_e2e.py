"""End to end through the generic trainer and the sweep command (tiny models, 2 steps)."""
import csv
import json

import pytest

from decompjax.commands import sweep


@pytest.mark.slow
def test_sweep_trains_evaluates_and_tabulates(tmp_path, ucr_dir):
  rc = sweep.main(["ucr", "--datasets=ItalyPowerDemand", "--gammas=0.5", "--seeds=1", "--steps=2",
                   f"--ucr_dir={ucr_dir}", f"--workdir={tmp_path}", "--smoke", "--batch_size=16", "--num_devices=1"])
  assert rc == 0
  res = {}
  for label in ("vqvae", "barlow_g0.5"):
    with open(tmp_path / "ItalyPowerDemand" / label / "seed0" / "result.json") as f:
      res[label] = json.load(f)
    assert res[label]["steps"] == 2
    assert (tmp_path / "ItalyPowerDemand" / label / "seed0" / "eval" / "metrics.json").is_file()
    assert (tmp_path / "ItalyPowerDemand" / label / "seed0" / "eval" / "latents_test.png").is_file()
  assert res["barlow_g0.5"]["gamma_used"] == 0.5  # read back from the run's saved config
  assert 0.0 <= res["vqvae"]["final"]["svm_acc"] <= 1.0
  with open(tmp_path / "sweep_table.csv") as f:
    rows = list(csv.DictReader(f))
  assert [r["model"] for r in rows] == ["vqvae", "barlow_g0.5"] and rows[1]["gamma"] == "0.5"
  assert rows[0]["1nn_ed"] == "0.9553"
  assert "| ItalyPowerDemand | vqvae |" in (tmp_path / "sweep_table.md").read_text()
