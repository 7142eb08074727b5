"""The VQ-VAE families' contract: the input spec and the data-derived config fields, the Report evaluate returns,
the Barlow augmentations in config.augment. Runs on the packaged ECG200 (96 samples, 1 channel)."""
import jax
import pytest

from decompjax import config_utils, config_validation
from decompjax.errors import ConfigError
from decompjax.evaluation import report
from decompjax.families.vqvae import augment
from decompjax.families.vqvae import data as vq_data
from decompjax.families.vqvae.family import BARLOW_VQVAE, VQVAE

VQ = "configs/vqvae_ucr.py:smoke"
BARLOW = "configs/barlow_vqvae_ucr.py:smoke"
METRICS = {"step", "dataset", "svm_acc", "knn1_acc", "knn5_acc", "knn10_acc", "pca95_components", "silhouette_mean",
           "silhouette_std", "perplexity", "code_entropy", "codes_used", "test_mse_time", "test_mse_stft",
           "latent_dim", "eval_seconds"}


def test_input_spec_matches_the_pipeline_and_resolve_config_fills_the_shape():
  c = config_utils.build_config(VQ, [])
  assert (c.data.length, c.data.channels) == (0, 0)  # 0 = from the data
  first = next(iter(vq_data.make_dataset(c, "train").batch(1).as_numpy_iterator()))
  spec = VQVAE.input_spec(c)  # resolved on the fly: loads the set
  assert {k: (s.shape, s.dtype) for k, s in spec.items()} == {k: (v.shape, v.dtype) for k, v in first.items()}
  VQVAE.resolve_config(c)
  assert (c.data.length, c.data.channels) == (96, 1)
  # Resolved, the spec comes from the config alone: no data is read (this set does not exist).
  c.data.name = "NoSuchSet"
  assert VQVAE.input_spec(c)["x"].shape == (1, 96, 1)


def test_a_shape_that_disagrees_with_the_data_is_a_config_error():
  c = config_utils.build_config(VQ, [("data.length", "140")])
  with pytest.raises(ConfigError, match=r"^config field 'data.length' = 140: UCR set 'ECG200' has length 96"):
    VQVAE.resolve_config(c)
  with pytest.raises(ConfigError, match="'data.length' = 140"):
    VQVAE.input_spec(c)  # channels still 0: resolved on the fly, and checked the same way


@pytest.mark.parametrize("family, preset", [(VQVAE, VQ), (BARLOW_VQVAE, BARLOW)])
def test_evaluate_returns_a_report_that_writes_the_metrics_and_figures(family, preset, tmp_path):
  c = config_utils.build_config(preset, [])
  state = family.init_state(c, jax.random.key(0), family.example_batch(c))
  got = family.evaluate(c, state, str(tmp_path))
  assert isinstance(got, report.Report)
  assert set(got.metrics) == METRICS and got.metrics["dataset"] == "ECG200" and got.metrics["step"] == 0
  assert not (tmp_path / "eval").exists()  # evaluate writes nothing itself
  report.write_report(got, str(tmp_path), process_index=0)
  assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == [
      "latents_test.png", "metrics.json", "reconstructions_test.png"]


def test_no_reconstruction_figure_when_none_is_asked_for(tmp_path):
  c = config_utils.build_config(VQ, [("eval.num_recon_plots", "0")])  # the rules allow 0
  state = VQVAE.init_state(c, jax.random.key(0), VQVAE.example_batch(c))
  assert sorted(VQVAE.evaluate(c, state, str(tmp_path)).figures) == ["latents_test"]


def test_barlow_augmentations_live_in_config_augment():
  c = config_utils.build_config(BARLOW, [("augment.names", "flip,jitter"), ("augment.jitter_std", "0.3")])
  assert augment.params_from_config(c).jitter_std == 0.3
  assert "augmentations" not in c.model and "jitter_std" not in c.model
  with pytest.raises(ConfigError, match=r"^config field 'augment.names' = 'AmpR,warp': must be a comma-separated"):
    config_utils.build_config(BARLOW, [("augment.names", "AmpR,warp")])
  assert config_validation.VQ_AUGMENTATIONS == augment.ORDER  # the validator's list is the code's
