"""The `decompjax` command line: errors are one clear message + non-zero exit; train -> eval end to end."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

from decompjax import cli

PRESET = "configs/syntone_beta_vae.py:smoke"


def test_console_script_help():
  exe = shutil.which("decompjax") or os.path.join(os.path.dirname(sys.executable), "decompjax")
  out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
  assert out.returncode == 0 and "train" in out.stdout and "eval" in out.stdout


def test_unknown_command_and_no_args(capsys):
  assert cli.main(["trian"]) == 2
  assert "unknown command 'trian'" in capsys.readouterr().err
  assert cli.main([]) == 2


def test_mistyped_override_fails_before_anything_runs(tmp_path, capsys):
  work = tmp_path / "w"
  code = cli.main(["train", f"--config={PRESET}", f"--workdir={work}", "--config.model.bta=8"])
  err = capsys.readouterr().err
  assert code == 2 and "model.bta" in err and "beta" in err
  assert not work.exists()


def test_wrong_type_and_missing_flags(tmp_path, capsys):
  assert cli.main(["train", f"--config={PRESET}", f"--workdir={tmp_path}", "--config.train.steps=lots"]) == 2
  assert "integer" in capsys.readouterr().err
  assert cli.main(["train", f"--workdir={tmp_path}"]) == 2
  assert "--config" in capsys.readouterr().err
  assert cli.main(["eval", f"--workdir={tmp_path / 'missing'}"]) == 2
  assert "no saved config" in capsys.readouterr().err


def test_data_syntone_generates_and_exports(tmp_path, capsys):
  code = cli.main(["data", "syntone", f"--out={tmp_path / 'd'}", "--num-freqs=3", "--num-amps=2",
                   "--sample-rate=8000", f"--npz={tmp_path / 'x.npz'}"])
  assert code == 0
  assert "24 clips" in capsys.readouterr().out
  with np.load(tmp_path / "x.npz", allow_pickle=True) as z:
    assert z["x"].shape == (24, 8000) and list(z["y"][:4]) == [0, 1, 2, 3]
  assert cli.main(["data", "syntone", f"--out={tmp_path / 'e'}", "--freq-end=9000", "--sample-rate=8000"]) == 2
  assert "freq" in capsys.readouterr().err.lower()


def test_train_then_eval_writes_metrics_figures_audio(tmp_path, capsys):
  work, data = tmp_path / "run", tmp_path / "data"
  assert cli.main(["train", f"--config={PRESET}", f"--workdir={work}", f"--config.data.dir={data}",
                   "--config.model.latent_dim=4", "--config.model.beta=8"]) == 0
  saved = json.load(open(work / "config.json"))
  assert saved["model"]["beta"] == 8.0 and saved["model"]["latent_dim"] == 4
  assert cli.main(["eval", f"--workdir={work}"]) == 0
  metrics = json.load(open(work / "eval" / "metrics.json"))
  for key in ("recon_mse", "mig", "sap", "dci_disentanglement", "probe_waveform_accuracy", "compat_mig"):
    assert np.isfinite(metrics[key]), key
  for name in ("reconstructions.png", "traversal.png", "prior_samples.png", "loss_curves.png", "mi_matrix.png",
               "dci_importance.png", "audio_0_input.wav", "audio_0_recon.wav"):
    assert (work / "eval" / name).stat().st_size > 0, name
  records = [json.loads(l) for l in open(work / "metrics.jsonl")]
  assert records[-1]["step"] == 3 and "train/loss" in records[-1]
  assert any(p.startswith("events.out.tfevents") for p in os.listdir(work / "tensorboard"))
