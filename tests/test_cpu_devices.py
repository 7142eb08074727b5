"""The CPU device split: auto count, value parsing, the command line over the config, and that it really sets
JAX's CPU device count."""
import os
import subprocess
import sys

import ml_collections
import pytest

from decompjax import cli, cpu_devices


@pytest.mark.parametrize("cores,expected", [(1, 2), (2, 4), (3, 4), (4, 8), (64, 8)])
def test_auto_count_is_twice_the_cores_as_power_of_two_at_most_8(cores, expected):
  assert cpu_devices.auto_count(cores) == expected


def test_parse_values():
  assert cpu_devices.parse("3") == 3 and cpu_devices.parse(2) == 2 and cpu_devices.parse(1) == 1
  assert cpu_devices.parse("auto") == cpu_devices.parse(0) == cpu_devices.auto_count()
  for bad in ("-2", "four", ""):
    with pytest.raises(ValueError, match="positive integer"):
      cpu_devices.parse(bad)


def test_flag_is_taken_from_anywhere_in_argv():
  assert cli.pop_cpu_devices_flag(["--a=1", "--cpu_devices=2", "b"]) == (["--a=1", "b"], "2")
  assert cli.pop_cpu_devices_flag(["--cpu_devices", "auto", "x"]) == (["x"], "auto")
  assert cli.pop_cpu_devices_flag(["x"]) == (["x"], None)
  with pytest.raises(ValueError, match="needs a value"):
    cli.pop_cpu_devices_flag(["--cpu_devices"])


def test_bad_flag_value_is_one_clear_error(capsys, monkeypatch):
  monkeypatch.setattr(cpu_devices, "_command_line", None)  # restored after the test
  environ = dict(os.environ)
  assert cli.main(["train", "--cpu_devices=zero", "--config=configs/syntone_beta_vae.py:smoke"]) == 2
  assert "positive integer" in capsys.readouterr().err
  assert dict(os.environ) == environ  # no environment channel: nothing leaks into child processes


def test_command_line_choice_wins_over_the_config(monkeypatch):
  monkeypatch.setattr(cpu_devices, "_command_line", None)
  config = ml_collections.ConfigDict({"mesh": {"cpu_devices": 3}})
  assert cpu_devices.requested(config) == 3
  assert cpu_devices.requested(ml_collections.ConfigDict({"mesh": {"num_devices": 0}})) == 1
  cpu_devices.set_command_line("2")
  assert cpu_devices.requested(config) == 2
  cpu_devices.set_command_line(None)
  assert cpu_devices.requested(config) == 3


def test_left_alone_once_backends_run(monkeypatch):
  import jax
  jax.numpy.ones(1).block_until_ready()
  count = jax.device_count()
  monkeypatch.delenv("XLA_FLAGS", raising=False)  # so it is the started backend that stops it
  assert cpu_devices.configure(2) is None
  assert jax.device_count() == count


def _fresh_process(config_value, *, xla_flags=None, call=None) -> tuple[int, str]:
  """(device count, XLA_FLAGS) of a new interpreter after cpu_devices.configure(config_value) (or `call`)."""
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  if xla_flags is not None:
    env["XLA_FLAGS"] = xla_flags
  call = call or f"cpu_devices.configure({config_value!r})"
  code = ("import os, jax, ml_collections; from decompjax import cpu_devices; "
          f"{call}; print(jax.device_count(), '|', os.environ.get('XLA_FLAGS', ''))")
  out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr
  count, flags = out.stdout.strip().splitlines()[-1].split("|")
  return int(count), flags.strip()


def test_sets_the_cpu_device_count_and_xla_flags_win():
  assert _fresh_process(3)[0] == 3
  assert _fresh_process(1) == (1, "")
  assert _fresh_process(0)[0] == cpu_devices.auto_count()
  assert _fresh_process(3, xla_flags="--xla_force_host_platform_device_count=5")[0] == 5


def test_configure_for_reads_the_config_and_defaults_to_one_device():
  with_field = "cpu_devices.configure_for(ml_collections.ConfigDict({'mesh': {'cpu_devices': 3}}))"
  without = "cpu_devices.configure_for(ml_collections.ConfigDict({'mesh': {'num_devices': 0}}))"
  assert _fresh_process(None, call=with_field)[0] == 3
  assert _fresh_process(None, call=without)[0] == 1
  flag_first = "cpu_devices.set_command_line('2'); " + with_field
  assert _fresh_process(None, call=flag_first)[0] == 2


def test_devices_at_least_cores_run_single_threaded_eigen():
  cores = os.cpu_count() or 1
  count, flags = _fresh_process(cores)
  assert count == cores and "--xla_cpu_multi_thread_eigen=false" in flags
  _, flags = _fresh_process(cores, xla_flags="--xla_cpu_multi_thread_eigen=true")
  assert "=false" not in flags  # the user's setting stays


def test_train_command_trains_on_the_requested_split(tmp_path):
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  cmd = [sys.executable, "-m", "decompjax.cli", "train", "--config=configs/syntone_beta_vae.py:smoke",
         f"--workdir={tmp_path / 'run'}", f"--config.data.dir={tmp_path / 'data'}", "--config.train.steps=2",
         "--config.train.progress=false", "--config.train.eval_at_end=false", "--cpu_devices=2"]
  out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
  assert out.returncode == 0, out.stderr[-2000:]
  assert "on a mesh of 2 cpu device(s)" in out.stderr
