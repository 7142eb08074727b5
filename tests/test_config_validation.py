"""Configs are validated where they are built: a field that breaks its rule is one ConfigError naming it."""
import glob
import json
import os
import subprocess
import sys

import pytest

from decompjax import config_utils, config_validation

SYNTONE = "configs/syntone_beta_vae.py:smoke"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("preset, field, value, message", [
    (SYNTONE, "train.steps", "-5", "config field 'train.steps' = -5: must be >= 1"),
    (SYNTONE, "train.steps", "0", "config field 'train.steps' = 0: must be >= 1"),
    (SYNTONE, "train.ckpt_every", "0", "config field 'train.ckpt_every' = 0: must be >= 1"),
    (SYNTONE, "train.log_every", "0", "config field 'train.log_every' = 0: must be >= 1"),
    (SYNTONE, "train.batch_size", "0", "config field 'train.batch_size' = 0: must be >= 1"),
    (SYNTONE, "train.keep_ckpts", "0", "config field 'train.keep_ckpts' = 0: must be >= 1"),
    (SYNTONE, "train.eval_every", "-1", "config field 'train.eval_every' = -1: must be >= 0"),
    (SYNTONE, "train.eval_batches", "0", "config field 'train.eval_batches' = 0: must be >= 1"),
    (SYNTONE, "model.latent_dim", "0", "config field 'model.latent_dim' = 0: must be >= 1"),
    (SYNTONE, "optim.lr", "-0.001", "config field 'optim.lr' = -0.001: must be a finite number >= 0"),
    (SYNTONE, "optim.lr", "nan", "config field 'optim.lr' = nan: must be a finite number >= 0"),
    (SYNTONE, "optim.name", "adma", "config field 'optim.name' = 'adma': must be one of 'adam', 'adamw', 'sgd'"),
    (SYNTONE, "optim.b2", "1.0", "config field 'optim.b2' = 1.0: must be >= 0 and < 1"),
    (SYNTONE, "mesh.num_devices", "-1", "config field 'mesh.num_devices' = -1: must be >= 0"),
    (SYNTONE, "data.shuffle_buffer", "-1", "config field 'data.shuffle_buffer' = -1: must be >= 0"),
    (SYNTONE, "eval.batch_size", "0", "config field 'eval.batch_size' = 0: must be >= 1"),
    (SYNTONE, "eval.protocol", "corected",
     "config field 'eval.protocol' = 'corected': must be one of 'corrected', 'syntone_compat', 'both'"),
    (SYNTONE, "data.grid.num_freqs", "0", "config field 'data.grid.num_freqs' = 0: must be >= 1"),
    (SYNTONE, "model.beta", "-1", "config field 'model.beta' = -1.0: must be a finite number >= 0"),
    ("configs/syntone_beta_tcvae.py:smoke", "model.tc_estimator", "mss2",
     "config field 'model.tc_estimator' = 'mss2': must be one of 'mss', 'mss_paper', 'mws'"),
    ("configs/syntone_factor_vae.py:smoke", "train.batch_size", "15",
     "config field 'train.batch_size' = 15: must be even for factor_vae (each batch is split into a VAE half "
     "and a discriminator half)"),
    ("configs/syntone_factor_vae.py:smoke", "optim.disc.lr", "0",
     "config field 'optim.disc.lr' = 0.0: must be a finite number > 0"),
    ("configs/syntone_factor_vae.py:smoke", "optim.disc.b1", "1.5",
     "config field 'optim.disc.b1' = 1.5: must be >= 0 and < 1"),
    ("configs/vqvae_ucr.py:smoke", "model.codebook_size", "0", "config field 'model.codebook_size' = 0: must be >= 1"),
    ("configs/vqvae_ucr.py:smoke", "model.window", "hamming",
     "config field 'model.window' = 'hamming': must be one of 'rect', 'hann'"),
    ("configs/vqvae_ucr.py:smoke", "data.nan_policy", "zeros",
     "config field 'data.nan_policy' = 'zeros': must be one of 'error', 'interpolate'"),
    ("configs/barlow_vqvae_ucr.py:smoke", "model.projector_width", "0",
     "config field 'model.projector_width' = 0: must be >= 1"),
    ("configs/autodecompose.py:smoke", "model.arch", "transformer",
     "config field 'model.arch' = 'transformer': must be one of 'large', 'lstm', 'conv', 'dense'"),
    ("configs/autodecompose.py:smoke", "probe.test_fraction", "1.0",
     "config field 'probe.test_fraction' = 1.0: must be > 0 and < 1"),
])
def test_build_config_rejects_a_field_that_breaks_its_rule(preset, field, value, message):
  with pytest.raises(config_utils.ConfigError) as e:
    config_utils.build_config(preset, [(field, value)])
  assert str(e.value) == message


def test_cross_field_rule_decay_after_warmup():
  with pytest.raises(config_utils.ConfigError, match=r"^config field 'optim.decay_steps' = 3: must be > "
                                                    r"optim.warmup_steps \(5\)"):
    config_utils.build_config("configs/vqvae_ucr.py:smoke", [("optim.warmup_steps", "5")])


def test_every_shipped_preset_and_variant_is_valid():
  # Guards the rules against rejecting what the project itself ships.
  args = {"autodecompose.py": ["", "smoke", "demo", "arch=conv", "arch=lstm", "arch=dense"],
          "barlow_vqvae_ucr.py": ["", "smoke", "cpu"], "vqvae_ucr.py": ["", "smoke"]}
  presets = [p for p in sorted(glob.glob(os.path.join(REPO, "configs", "*.py")))
             if os.path.basename(p) not in ("__init__.py", "common.py", "syntone_common.py")]
  assert len(presets) >= 7
  for path in presets:
    name = os.path.basename(path)
    for arg in args.get(name, ["", "smoke", "demo"] + (["showcase"] if name.startswith("syntone_") else [])):
      config_validation.validate(config_utils.build_config(path + (f":{arg}" if arg else ""), []))


def test_load_saved_config_validates_and_applies_overrides(tmp_path):
  path = str(tmp_path / "config.json")
  config_utils.save_config(config_utils.build_config(SYNTONE, []), path)
  with open(path) as f:
    saved = json.load(f)
  saved["train"]["ckpt_every"] = 0
  with open(path, "w") as f:
    json.dump(saved, f)
  with pytest.raises(config_utils.ConfigError, match="^config field 'train.ckpt_every' = 0: must be >= 1$"):
    config_utils.load_saved_config(path)
  back = config_utils.load_saved_config(path, [("train.ckpt_every", "2"), ("eval.batch_size", "8")])
  assert back.train.ckpt_every == 2 and back.eval.batch_size == 8
  with pytest.raises(config_utils.ConfigError, match="^config field 'eval.batch_size' = 0: must be >= 1$"):
    config_utils.load_saved_config(path, [("train.ckpt_every", "2"), ("eval.batch_size", "0")])


def test_rules_only_apply_where_the_field_is_present():
  # A family-neutral config without model.latent_dim or eval.protocol is judged by the common rules alone.
  c = config_utils.build_config("configs/vqvae_ucr.py:smoke", [])
  assert "latent_dim" not in c.model
  config_validation.validate(c)


def test_choices_match_the_code_that_reads_them():
  # The validator cannot import these modules (they start JAX); the lists it keeps must not drift from them.
  import ml_collections
  import numpy as np

  from decompjax import optim
  from decompjax.audio import mel
  from decompjax.audio import speech_features as features
  from decompjax.families.autodecompose import augment as ad_augment
  from decompjax.families.autodecompose import model as models
  from decompjax.losses import tc, vae
  from decompjax.audio import stft
  choices = config_validation.CHOICES
  assert choices["model.reduction"] == vae.REDUCTIONS
  assert choices["model.tc_estimator"] == tc.ESTIMATORS
  from decompjax.families.syntone_vae import evaluate as sv_evaluate
  assert choices["eval.protocol"] == sv_evaluate.PROTOCOLS
  assert choices["audio.frontend"] == mel.FRONTEND_MODES
  assert choices["model.arch"] == models.ARCHS
  assert choices["features.preset"] == tuple(features.PRESETS)
  assert choices["augment.preset"] == tuple(ad_augment.PRESETS)
  from decompjax.data import ucr
  assert choices["data.nan_policy"] == ucr.NAN_POLICIES
  from decompjax.families.convae_bss import loss as bss_loss
  assert choices["model.objective"] == bss_loss.OBJECTIVES
  assert choices["model.recon"] == bss_loss.RECONS
  from decompjax import precision
  assert choices["train.dtype"] == tuple(precision.DTYPES)
  from configs import common
  for name in choices["optim.name"] + ("lamb",):
    block = common.base_config().optim  # make_optimizer reads every field (no fallbacks)
    block.name = name
    if name == "lamb":
      with pytest.raises(ValueError):
        optim.make_optimizer(block)
    else:
      optim.make_optimizer(block)
  for mode in choices["probe.pool"]:
    models.pool(np.zeros((2, 3, 4), np.float32), mode)
  with pytest.raises(ValueError):
    models.pool(np.zeros((2, 3, 4), np.float32), "max")
  for window in choices["model.window"]:
    stft.window_array(window, 8)
  with pytest.raises(ValueError):
    stft.window_array("hamming", 8)


def test_cli_bad_field_is_one_line_exit_2_no_workdir_no_jax(tmp_path):
  # In a fresh interpreter: the error comes before JAX/TF are imported and before the workdir exists.
  work = tmp_path / "w"
  code = ("import sys; from decompjax import cli\n"
          "rc = [cli.main(['train', '--config=configs/syntone_beta_vae.py:smoke', f'--workdir={sys.argv[1]}',\n"
          "                f'--config.{f}' ]) for f in ('train.steps=-5', 'train.ckpt_every=0', 'model.latent_dim=0')]\n"
          "print(rc, 'jax' in sys.modules, 'tensorflow' in sys.modules)")
  out = subprocess.run([sys.executable, "-c", code, str(work)], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
  assert out.stdout.strip() == "[2, 2, 2] False False", out.stderr
  assert out.stderr.splitlines() == [
      "decompjax train: error: config field 'train.steps' = -5: must be >= 1",
      "decompjax train: error: config field 'train.ckpt_every' = 0: must be >= 1",
      "decompjax train: error: config field 'model.latent_dim' = 0: must be >= 1"]
  assert not work.exists()
