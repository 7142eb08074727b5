"""The SynTone VAE families against contract v2: input_spec describes what the pipeline yields, prepare_data
generates once and make_dataset only reads, and evaluate returns a Report without writing a file."""
import os

import jax
import matplotlib.figure
import numpy as np
import pytest

from decompjax import config_utils, input_pipeline
from decompjax.data import paths, syntone_tfds
from decompjax.evaluation.report import Report
from decompjax.families.syntone_vae import data as sv_data, evaluate as sv_evaluate, family as sv_family

FAMILIES = {"beta_vae": sv_family.BETA_VAE, "beta_tcvae": sv_family.BETA_TCVAE, "factor_vae": sv_family.FACTOR_VAE}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("syntone_data"))


def _config(name, data_dir, *pairs):
  return config_utils.build_config(f"configs/syntone_{name}.py:smoke", [("data.dir", data_dir), *pairs])


def test_input_spec_is_what_the_pipeline_yields(data_dir):
  config = _config("beta_vae", data_dir)
  batch = input_pipeline.first_example_batch(sv_data.make_dataset(config, "train"), 1)
  spec = sv_data.input_spec(config)
  assert {k: (v.shape, np.dtype(v.dtype)) for k, v in spec.items()} == {k: (v.shape, v.dtype) for k, v in batch.items()}


def test_prepare_data_generates_once_and_make_dataset_reads_it(tmp_path):
  config = _config("beta_vae", str(tmp_path / "d"))
  grid = sv_data.grid_from_config(config)
  with pytest.raises(FileNotFoundError):  # nothing there yet: loading alone does not generate
    syntone_tfds.load(grid, paths.resolve_data_dir(config.data.dir), "train")
  sv_data.prepare_data(config)
  shards = sorted((tmp_path / "d").rglob("syntone-train.tfrecord-*"))
  stamps = [s.stat().st_mtime_ns for s in shards]
  sv_data.prepare_data(config)  # idempotent: the prepared files are not rewritten
  assert len(input_pipeline.all_examples(sv_data.make_dataset(config, "train"))["index"]) == 38
  assert [s.stat().st_mtime_ns for s in shards] == stamps


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_init_state_needs_only_the_config(name, data_dir):
  family = FAMILIES[name]
  config = _config(name, data_dir)
  example = family.example_batch(config)  # zeros from input_spec: no data read
  state = family.init_state(config, jax.random.key(0), example)
  if name == "factor_vae":
    assert set(state.params) == set(state.opt_state) == {"vae", "disc"}
  assert "encoder" in sv_evaluate.vae_params(state) and state.model_state == {}


def test_evaluate_returns_a_report_and_writes_nothing(data_dir, tmp_path):
  config = _config("beta_vae", data_dir, ("eval.metric_train_size", "16"))
  state = sv_family.BETA_VAE.init_state(config, jax.random.key(0), sv_family.BETA_VAE.example_batch(config))
  workdir = tmp_path / "run"
  workdir.mkdir()
  report = sv_evaluate.evaluate(config, state, str(workdir))
  assert isinstance(report, Report) and os.listdir(workdir) == []
  assert set(report.figures) == {"mi_matrix", "dci_importance", "reconstructions", "traversal", "prior_samples"}
  assert all(isinstance(f, matplotlib.figure.Figure) for f in report.figures.values())
  assert set(report.audio) == {"audio_0_input", "audio_0_recon"}
  wave, rate = report.audio["audio_0_input"]
  assert wave.ndim == 1 and rate == config.data.grid.sample_rate
  assert report.metrics["step"] == 0 and np.isfinite(report.metrics["mig"]) and "compat_mig" in report.metrics
  assert report.metrics["files"] == [f"eval/{n}.png" for n in report.figures] + [f"eval/{n}.wav" for n in report.audio]
