"""Where checkpoints are read from and written to: init_from is checked (and only read) before the new
workdir exists; `eval` of a workdir without checkpoints is one clear error that creates nothing."""
import os

import jax
import numpy as np
import pytest

from decompjax import checkpointing, cli, config_utils, train

from syntone_smoke import make_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("syntone_data"))


def listing(directory):
  return sorted(os.path.relpath(os.path.join(d, f), directory) for d, _, fs in os.walk(directory) for f in fs)


@pytest.fixture(scope="module")
def source(data_dir, tmp_path_factory):
  """A trained workdir to fine-tune from, and its params."""
  work = str(tmp_path_factory.mktemp("source") / "w")
  state = train.train_and_evaluate(make_config(data_dir, **{"train.steps": 1}), work)
  return work, jax.tree.map(np.asarray, jax.device_get(state.params))


def test_mistyped_init_from_creates_nothing(data_dir, tmp_path):
  typo, new = tmp_path / "no_such_run", tmp_path / "new"
  with pytest.raises(FileNotFoundError, match=r"config.init_from=.*no_such_run") as raised:
    train.train_and_evaluate(make_config(data_dir, init_from=str(typo)), str(new))
  assert "--workdir" not in str(raised.value)
  assert not new.exists() and not typo.exists()


def test_init_from_another_model_is_refused_before_the_workdir_exists(data_dir, source, tmp_path):
  new = tmp_path / "new"
  before = listing(source[0])
  with pytest.raises(checkpointing.CheckpointMismatchError,
                     match=r"config.init_from=.*shapes differ.*Point config.init_from") as raised:
    train.train_and_evaluate(make_config(data_dir, init_from=source[0], **{"model.latent_dim": 4}), str(new))
  assert "--workdir" not in str(raised.value)
  assert not new.exists()
  assert listing(source[0]) == before


def test_init_from_starts_from_the_source_params(data_dir, source, tmp_path):
  # lr=0: the one step leaves the parameters where init_from put them.
  state = train.train_and_evaluate(make_config(data_dir, init_from=source[0], **{"optim.lr": 0}),
                                   str(tmp_path / "new"))
  for a, b in zip(jax.tree.leaves(jax.device_get(state.params)), jax.tree.leaves(source[1]), strict=True):
    np.testing.assert_array_equal(np.asarray(a), b)


def test_eval_without_checkpoints_is_one_line_and_creates_nothing(data_dir, tmp_path, capsys):
  work = tmp_path / "w"
  work.mkdir()
  config_utils.save_config(make_config(data_dir), str(work / "config.json"))
  assert cli.main(["eval", f"--workdir={work}"]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err == [f"decompjax eval: error: no checkpoint in {work / 'checkpoints'}: train first"]
  assert listing(work) == ["config.json"] and not (work / "checkpoints").exists()


def test_a_reader_never_creates_the_folder(tmp_path):
  with pytest.raises(FileNotFoundError):
    checkpointing.Checkpointer(str(tmp_path / "checkpoints"), read_only=True)
  assert not (tmp_path / "checkpoints").exists()
