"""`decompjax benchmark syntone`: variant configs, the mean/std table writers, and a smoke run end to end."""
import csv
import os

import numpy as np
import pytest

from decompjax.commands import benchmark as command
from decompjax.errors import UsageError
from decompjax.experiments import syntone as benchmark


def test_variant_configs(tmp_path):
  data = str(tmp_path / "data")
  compat = benchmark.model_config("factor_vae", "syntone_compat", preset="smoke", seed=3, data_dir=data)
  corrected = benchmark.model_config("factor_vae", "corrected", preset="smoke", seed=3, data_dir=data, steps=7)
  assert compat.audio.frontend == "syntone" and compat.compat.leak_disc_grad
  assert corrected.audio.frontend == "log_mel" and not corrected.compat.leak_disc_grad
  assert corrected.train.steps == 7 and compat.seed == 3 and compat.eval.protocol == "both"
  assert compat.model.gamma == corrected.model.gamma  # the loss weights are the preset's in both variants
  btc = benchmark.model_config("beta_tcvae", "corrected", preset="demo", seed=0, data_dir=data)
  assert btc.model.tc_estimator == "mss_paper" and btc.data.grid.num_freqs == 50
  assert benchmark.model_config("beta_tcvae", "syntone_compat", preset="full", seed=0,
                                data_dir=data).data.grid.num_freqs == 400
  with pytest.raises(ValueError, match="variant"):
    benchmark.variant_overrides("vae", "other")
  with pytest.raises(ValueError, match="preset"):
    benchmark.model_config("vae", "corrected", preset="huge", seed=0, data_dir=data)


def _record(model, variant, seed, value):
  res = {k: value for _, k, _ in benchmark.COLUMNS}
  res.update({k: value / 2 for _, _, k in benchmark.COLUMNS if k})
  res["recon_mse"] = 0.1
  return dict(model=model, variant=variant, seed=seed, results=res)


def test_tables_report_mean_and_sample_std(tmp_path):
  records = [_record("vae", v, s, x) for v in benchmark.VARIANTS for s, x in enumerate((0.2, 0.4, 0.9))]
  paths = benchmark.write_tables(str(tmp_path), records, ["vae"], "header line")
  summary = list(csv.DictReader(open(paths["summary"])))
  row = next(r for r in summary if r["variant"] == "corrected" and r["protocol"] == "corrected" and r["metric"] == "MIG")
  np.testing.assert_allclose(float(row["mean"]), 0.5)
  np.testing.assert_allclose(float(row["std"]), np.std([0.2, 0.4, 0.9], ddof=1))
  compat = next(r for r in summary if r["variant"] == "syntone_compat" and r["protocol"] == "syntone_compat"
                and r["metric"] == "MIG")
  np.testing.assert_allclose(float(compat["mean"]), 0.25)
  assert not any(r["protocol"] == "syntone_compat" and r["metric"] == "IRS" for r in summary)  # not in the original
  md = open(paths["markdown"]).read().splitlines()
  assert md[0] == "header line" and "(ddof=1)" in md[1]  # the one std convention, stated in the header
  vae_rows = [l for l in md if l.startswith("| VAE |")]
  assert [l.split("|")[2].strip() for l in vae_rows] == ["SynTone README", "syntone_compat", "corrected"]
  assert "0.280" in vae_rows[0] and f"0.500 ± {np.std([0.2, 0.4, 0.9], ddof=1):.3f}" in vae_rows[2]
  assert vae_rows[1].count("—") == 5  # DCI x3, IRS, FactorVAE do not exist in the original's protocol
  tex = open(paths["latex"]).read()
  assert r"\begin{tabular}" in tex and r"$\pm$" in tex and r"syntone\_compat" in tex
  assert len(list(csv.DictReader(open(paths["runs"])))) == 6


def test_bad_arguments(tmp_path):
  with pytest.raises(UsageError, match="benchmark"):
    command.main(["ucr", "--workdir", str(tmp_path)])
  with pytest.raises(ValueError, match="unknown benchmark model"):
    benchmark.run_benchmark(str(tmp_path), models=["vae", "wgan"], preset="smoke")
  with pytest.raises(UsageError, match="steps"):
    command.main(["syntone", "--workdir", str(tmp_path), "--steps", "0"])
  with pytest.raises(UsageError, match="own presets"):
    command.main(["syntone", "--workdir", str(tmp_path), "--config=configs/syntone_vae.py"])
  with pytest.raises(UsageError, match="--data-dir"):  # the flags are --snake_case: --data_dir, --no_gif
    command.main(["syntone", "--workdir", str(tmp_path), "--data-dir", str(tmp_path)])


def test_smoke_benchmark_end_to_end(tmp_path, capsys):
  work = str(tmp_path / "bench")
  argv = ["syntone", f"--workdir={work}", "--preset=smoke", "--seeds=1", "--models=vae", "--steps=2",
          "--config.eval.griffin_lim_iters=1"]
  assert command.main(argv) == 0
  for name in ("runs.csv", "summary.csv", "table.md", "table.tex"):
    assert os.path.getsize(os.path.join(work, name)) > 0, name
  runs = list(csv.DictReader(open(os.path.join(work, "runs.csv"))))
  assert [(r["model"], r["variant"]) for r in runs] == [("vae", "syntone_compat"), ("vae", "corrected")]
  assert all(np.isfinite(float(r["compat_mig"])) and np.isfinite(float(r["mig"])) for r in runs)
  table = open(os.path.join(work, "table.md")).read()
  compat_row = next(l for l in table.splitlines() if l.startswith("| VAE | syntone_compat"))
  assert compat_row.split("|")[3].strip()[0].isdigit()  # a measured MIG
  for variant in benchmark.VARIANTS:
    run = benchmark.run_dir(work, variant, "vae", 0)
    assert os.path.getsize(os.path.join(run, "sweep.gif")) > 0
    assert os.path.isfile(os.path.join(run, "eval", "reconstructions.png"))
    assert '"griffin_lim_iters": 1' in open(os.path.join(run, "config.json")).read()  # --config.* reached it
  assert "SynTone README" in capsys.readouterr().out

  # Re-running reuses the finished runs instead of training again.
  metrics = os.path.join(benchmark.run_dir(work, "corrected", "vae", 0), "eval", "metrics.json")
  before = os.path.getmtime(metrics)
  assert command.main(argv) == 0
  assert os.path.getmtime(metrics) == before


def test_gif_sweep_indices():
  from decompjax.data import syntone
  from decompjax.families.syntone_vae import animate
  grid = syntone.SynToneGrid(num_freqs=50, num_amps=10)
  idx = animate.sweep_indices(grid, waveform=3, amp_idx=9, num_frames=12)
  fac = syntone.factor_indices(grid, idx)
  assert len(idx) == 12 and (fac[:, 0] == 3).all() and (fac[:, 2] == 9).all()
  assert fac[0, 1] == 0 and fac[-1, 1] == 49 and (np.diff(fac[:, 1]) > 0).all()
  with pytest.raises(ValueError, match="outside the grid"):
    animate.sweep_indices(grid, waveform=4, amp_idx=0, num_frames=3)
