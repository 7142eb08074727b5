"""End to end through the generic trainer and the sweep command (tiny models, 2 steps)."""
import csv
import json

import pytest

from decompjax.commands import sweep


@pytest.mark.slow
def test_sweep_trains_evaluates_and_tabulates(tmp_path, ucr_dir):
  argv = ["ucr", "--datasets=ItalyPowerDemand", "--gammas=0.5", "--seeds=1", "--steps=2", f"--ucr_dir={ucr_dir}",
          f"--workdir={tmp_path}", "--smoke", "--batch_size=16", "--num_devices=1"]
  assert sweep.main(argv) == 0
  res = {}
  for label in ("vqvae", "barlow_g0.5"):
    with open(tmp_path / "ItalyPowerDemand" / label / "seed0" / "result.json") as f:
      res[label] = json.load(f)
    assert res[label]["complete"] and res[label]["steps"] == 2 and res[label]["results"]["step"] == 2
    assert (tmp_path / "ItalyPowerDemand" / label / "seed0" / "eval" / "metrics.json").is_file()
    assert (tmp_path / "ItalyPowerDemand" / label / "seed0" / "eval" / "latents_test.png").is_file()
  assert res["barlow_g0.5"]["extra"]["gamma_used"] == 0.5  # read back from the run's saved config
  assert 0.0 <= res["vqvae"]["results"]["svm_acc"] <= 1.0
  with open(tmp_path / "sweep_table.csv") as f:  # the summary: one row per dataset x model x metric
    rows = [r for r in csv.DictReader(f) if r["metric"] == "svm_acc"]
  assert [r["model"] for r in rows] == ["vqvae", "barlow_g0.5"] and rows[1]["gamma"] == "0.5"
  assert rows[0]["1nn_ed"] == "0.9553" and rows[0]["n"] == "1" and rows[0]["std"] == "nan"
  with open(tmp_path / "sweep_runs.csv") as f:
    runs = list(csv.DictReader(f))
  assert [r["model"] for r in runs] == ["vqvae", "barlow_g0.5"] and float(runs[0]["svm_acc"]) == float(rows[0]["mean"])
  md = (tmp_path / "sweep_table.md").read_text()
  assert "| ItalyPowerDemand | vqvae |" in md and "(ddof=1)" in md
  assert (tmp_path / "sweep_table.tex").read_text().count(r"\\") == 3  # title row + two model rows

  # A finished run is reused while its config is unchanged.
  before = (tmp_path / "ItalyPowerDemand" / "vqvae" / "seed0" / "eval" / "metrics.json").stat().st_mtime_ns
  assert sweep.main(argv) == 0
  assert (tmp_path / "ItalyPowerDemand" / "vqvae" / "seed0" / "eval" / "metrics.json").stat().st_mtime_ns == before


@pytest.mark.slow
def test_sweep_probes_the_untrained_state_at_epoch_0(tmp_path, ucr_dir):
  # 67 train series, batch 16: 5 steps per epoch, so 2 steps probe epoch 0 only (the initial state).
  assert sweep.main(["ucr", "--datasets=ItalyPowerDemand", "--gammas=0.5", "--seeds=1", "--steps=2", "--no_plain",
                     "--probe_every=1", f"--ucr_dir={ucr_dir}", f"--workdir={tmp_path}", "--smoke",
                     "--batch_size=16", "--num_devices=1"]) == 0
  run = tmp_path / "ItalyPowerDemand" / "barlow_g0.5" / "seed0"
  res = json.loads((run / "result.json").read_text())
  assert [h["step"] for h in res["history"]] == [0] and res["history"][0]["results"]["step"] == 0
  assert json.loads((run / "probes" / "step_0" / "eval" / "metrics.json").read_text())["step"] == 0
  assert res["results"]["step"] == 2
