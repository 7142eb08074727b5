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
  code = cli.main(["data", "syntone", f"--out={tmp_path / 'd'}", "--num_freqs=3", "--num_amps=2",
                   "--sample_rate=8000", f"--npz={tmp_path / 'x.npz'}"])
  assert code == 0
  assert "24 clips" in capsys.readouterr().out
  with np.load(tmp_path / "x.npz", allow_pickle=True) as z:
    assert z["x"].shape == (24, 8000) and list(z["y"][:4]) == [0, 1, 2, 3]
  assert cli.main(["data", "syntone", f"--out={tmp_path / 'e'}", "--freq_end=9000", "--sample_rate=8000"]) == 2
  assert "freq" in capsys.readouterr().err.lower()
  assert cli.main(["data", "syntone", f"--out={tmp_path / 'f'}", "--num-freqs=3"]) == 2  # --snake_case only
  assert "unrecognized arguments: --num-freqs=3" in capsys.readouterr().err


def test_data_prepare_runs_the_familys_preparation(tmp_path, capsys):
  cache = tmp_path / "cache"
  assert cli.main(["data", "prepare", "--config=configs/autodecompose.py:smoke",
                   f"--config.data.cache_dir={cache}"]) == 0
  assert "prepared the data" in capsys.readouterr().out
  assert (cache / "sim_vowels").is_dir()
  assert cli.main(["data", "prepare", "--config=configs/vqvae_ucr.py:smoke"]) == 0  # reads UCR files as they are
  assert "needs no data preparation" in capsys.readouterr().out
  assert cli.main(["data", "prepare", "--config=configs/autodecompose.py:smoke", "--config.train.steps=0"]) == 2
  assert "train.steps" in capsys.readouterr().err


def test_train_then_eval_writes_metrics_figures_audio(tmp_path, capsys):
  work, data = tmp_path / "run", tmp_path / "data"
  assert cli.main(["train", f"--config={PRESET}", f"--workdir={work}", f"--config.data.dir={data}",
                   "--config.model.latent_dim=4", "--config.model.beta=8", "--config.train.eval_at_end=false"]) == 0
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


HELP_SUBJECTS = {"data": ["prepare", "syntone"], "benchmark": ["syntone"], "probe": ["speaker"], "sweep": ["ucr"],
                 "launch": ["local", "check"]}
TAKES_CONFIG_FILE = ("train",)
TAKES_OVERRIDES = ("train", "eval", "benchmark", "probe")


def _help_lines() -> list[list[str]]:
  runs = []
  for name in cli.COMMANDS:
    for subject in [None] + HELP_SUBJECTS.get(name, []):
      for flag in ("--help", "-h"):
        runs.append([name] + ([subject] if subject else []) + [flag])
  return runs


def test_help_for_every_command_and_subcommand_exits_0_and_names_config_forms(capsys):
  for argv in _help_lines():
    assert cli.main(argv) == 0, argv
    out = capsys.readouterr()
    assert "usage: decompjax " + argv[0] in out.out and not out.err, argv
    if argv[0] in TAKES_CONFIG_FILE:
      assert "--config=" in out.out, argv
    if argv[0] in TAKES_OVERRIDES:
      assert "--config.a.b=value" in out.out, argv
    assert "--cpu_devices" in out.out, argv
  assert set(cli.COMMANDS) == {argv[0] for argv in _help_lines()}


def test_help_and_version_start_no_jax_and_print_the_version():
  code = ("import sys; from decompjax import cli\n"
          "for argv in %r: assert cli.main(argv) == 0, argv\n"
          "assert cli.main(['--version']) == 0 and cli.main(['-V']) == 0\n"
          "print('jax' in sys.modules, 'tensorflow' in sys.modules)" % (_help_lines(),))
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr
  from importlib import metadata
  version = metadata.version("decompjax")
  assert out.stdout.splitlines()[-3:] == [f"decompjax {version}", f"decompjax {version}", "False False"]


def test_help_command_and_top_level_usage(capsys):
  assert cli.main(["help", "eval"]) == 0
  assert "usage: decompjax eval" in capsys.readouterr().out
  assert cli.main(["--help"]) == 0
  out = capsys.readouterr().out
  assert "--version" in out and "decompjax <command> --help" in out


def test_bad_flags_are_one_line_exit_2(tmp_path, capsys):
  cases = [(["data", "syntone", "--num_freqs=x", f"--out={tmp_path}"], "invalid int value: 'x'"),
           (["benchmark", "syntone", "--sedes=2"], "unrecognized arguments: --sedes=2"),
           (["embed", "--workdir=x"], "--encoder"),
           (["data", "nope"], "see decompjax data --help"),
           (["probe", "speaker", f"--workdir={tmp_path}", "--config=configs/autodecompose.py"],  # was ignored
            "probe reads the config saved in the workdir"),
           (["demo", "--steps=0", f"--workdir={tmp_path / 'demo'}"],  # --steps=0 once ran the 400-step default
            "config field 'train.steps' = 0: must be >= 1")]
  for argv, expected in cases:
    assert cli.main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.startswith(f"decompjax {argv[0]}: error: ") and len(err.strip().splitlines()) == 1, (argv, err)
    assert expected in err, (argv, err)
  assert not os.listdir(tmp_path)
