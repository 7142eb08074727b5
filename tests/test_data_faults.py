"""Generated datasets under faults: the default configs build, damaged shards are one clear error, no TFDS chatter."""
import itertools
import os
import pathlib
import shutil

import numpy as np
import pytest

from decompjax import cli, input_pipeline
from decompjax.data import simvowels, syntone, syntone_tfds
from decompjax.data.syntone import SynToneGrid

TINY = SynToneGrid(sample_rate=4000, freq_start=100.0, num_freqs=5, num_amps=2)
SMOKE = "configs/syntone_beta_vae.py:smoke"


@pytest.fixture
def few_clips_per_split(monkeypatch):
  """The real sklearn split, cut to its first few indices: the default grid builds in seconds, not 32,000 clips."""
  real = syntone.split_indices

  def first_few(num, val_fraction=0.2, seed=42):
    train, val = real(num, val_fraction, seed)
    return train[:6], val[:2]

  monkeypatch.setattr(syntone, "split_indices", first_few)
  return real


def test_default_syntone_grid_builds(tmp_path, few_clips_per_split):
  grid = SynToneGrid()  # create.py's 4 x 400 x 20: the grid of `decompjax data syntone` and the full presets
  builder = syntone_tfds.build(grid, tmp_path)
  assert builder.builder_config.name == f"grid_{grid.fingerprint()}"
  train, _ = few_clips_per_split(grid.num_examples)
  got = list(syntone_tfds.load(grid, tmp_path, "train").as_numpy_iterator())
  assert sorted(int(e["index"]) for e in got) == sorted(train[:6])
  for e in got:
    np.testing.assert_array_equal(e["waveform"], syntone.synthesize(grid, [int(e["index"])])[0])


def test_data_syntone_cli_defaults_build(tmp_path, capsys, few_clips_per_split):
  assert cli.main(["data", "syntone", f"--out={tmp_path}"]) == 0
  out = capsys.readouterr().out
  assert f"SynTone grid {SynToneGrid().fingerprint()}" in out
  # One line of our own instead of TFDS's download messages: nothing is downloaded.
  assert "generating SynTone grid" in out and str(tmp_path) in out
  assert "ownload" not in out


def test_generating_a_grid_is_one_line_not_tfds_download_chatter(tmp_path, capsys, caplog):
  syntone_tfds.build(TINY, tmp_path)
  syntone_tfds.load(TINY, tmp_path, "train")
  captured = capsys.readouterr()
  assert captured.out.strip().splitlines() == [
      f"generating SynTone grid {TINY.fingerprint()} (40 clips, about 1 MB) into "
      f"{tmp_path}/syntone/grid_{TINY.fingerprint()}/1.0.0 ..."]
  assert "Generating splits" not in captured.err  # no progress-bar frames when stderr is not a terminal
  # Every non-default grid is a custom TFDS config, and a new one has no dataset_info.json yet: not warnings.
  assert "custom data configuration" not in caplog.text and "Variant folder" not in caplog.text


def test_default_simvowels_config_builds(tmp_path):
  from decompjax.data import simvowels_tfds
  config = simvowels_tfds.make_config()  # the Autodecompose presets' 4000 / 500 / 300 utterances of 4 s
  builder = simvowels_tfds._builder(config, str(tmp_path))  # what builder() / load() construct, before generating
  assert builder.builder_config.name == config.name
  records = list(itertools.islice(builder._generate_examples("test", 2), 2))
  want = simvowels.generate("test", 2, config.spec)
  for i, (key, example) in enumerate(records):
    assert key == i
    np.testing.assert_array_equal(example["audio"], want["audio"][i])


def test_simvowels_generation_prints_one_line_of_its_own(tmp_path, capsys):
  from decompjax.data import simvowels_tfds
  config = simvowels_tfds.make_config(excitation="noise_compat", seconds=0.3, num_train=2, num_validation=1,
                                      num_test=1, seed=1)
  simvowels_tfds.load_numpy(config, str(tmp_path), "test")
  out = capsys.readouterr().out
  assert "generating SimVowels" in out and str(tmp_path) in out
  assert "ownload" not in out


# ---------------------------------------------------------------- damaged shards

@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("syntone")
  syntone_tfds.build(TINY, data_dir)
  return data_dir


def _copy(src, tmp_path) -> pathlib.Path:
  dst = tmp_path / "copy"
  shutil.copytree(src, dst)
  return dst


def _flip_byte(shard: pathlib.Path, keep_mtime: bool = False) -> None:
  """Same size, one payload byte inverted (what a bad disk or a partial overwrite leaves)."""
  st = shard.stat()
  raw = bytearray(shard.read_bytes())
  raw[len(raw) // 2] ^= 0xFF
  shard.write_bytes(bytes(raw))
  if keep_mtime:  # bit rot: the file's size and mtime do not change
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns))


def _shard(data_dir, split="train") -> pathlib.Path:
  return next(pathlib.Path(data_dir).rglob(f"syntone-{split}.tfrecord-*"))


@pytest.mark.parametrize("split", ["train", "validation"])
def test_flipped_bytes_are_one_clear_error_naming_the_file(prepared, tmp_path, split):
  data_dir = _copy(prepared, tmp_path)
  shard = _shard(data_dir, split)
  _flip_byte(shard)
  # Every split is checked when the dataset is opened: a damaged validation shard fails before training starts.
  with pytest.raises(ValueError, match=rf"{shard.name}.*delete .*{shard.parent}.* regenerate"):
    syntone_tfds.load(TINY, data_dir, "train")


def test_verification_is_remembered_then_redone_when_a_file_changes(prepared, tmp_path):
  data_dir = _copy(prepared, tmp_path)
  syntone_tfds.load(TINY, data_dir, "train")  # verifies and remembers
  shard = _shard(data_dir)
  _flip_byte(shard, keep_mtime=True)
  ds = syntone_tfds.load(TINY, data_dir, "train")  # size and mtime unchanged: trusted, not re-read
  # ... so the damage shows up while training reads it: the same clear error, naming the file.
  with pytest.raises(ValueError, match=rf"{shard.name}.*delete .*regenerate"):
    for _ in input_pipeline.batched_numpy(ds, 4, seed=0, shuffle_buffer=8, cache=False, repeat=False):
      pass
  # That failure forgets the file's verification: the next open checks it again and refuses up front.
  with pytest.raises(ValueError, match=shard.name):
    syntone_tfds.load(TINY, data_dir, "validation")


def test_unwritable_stamp_verifies_every_open(prepared, tmp_path):
  data_dir = _copy(prepared, tmp_path)
  for stamp in pathlib.Path(data_dir).rglob(".decompjax-verified*"):
    stamp.unlink()
  stamp_dir = _shard(data_dir).parent / ".decompjax-verified.json"
  stamp_dir.mkdir()  # the stamp cannot be written (as in a read-only data dir, even for root)
  syntone_tfds.load(TINY, data_dir, "train")
  _flip_byte(_shard(data_dir), keep_mtime=True)
  with pytest.raises(ValueError, match=_shard(data_dir).name):
    syntone_tfds.load(TINY, data_dir, "train")


@pytest.mark.parametrize("split", ["train", "validation"])
def test_train_on_a_damaged_shard_exits_2_without_a_workdir(tmp_path, capsys, split):
  data, work = tmp_path / "data", tmp_path / "run"
  from decompjax import config_utils
  from decompjax.families.syntone_vae import data as sv_data
  config = config_utils.build_config(SMOKE, [("data.dir", str(data))])
  syntone_tfds.build(sv_data.grid_from_config(config), data)
  shard = _shard(data, split)
  _flip_byte(shard)
  capsys.readouterr()
  assert cli.main(["train", f"--config={SMOKE}", f"--workdir={work}", f"--config.data.dir={data}"]) == 2
  err = capsys.readouterr().err
  assert "decompjax train: error:" in err and shard.name in err and "Traceback" not in err
  assert not work.exists()
