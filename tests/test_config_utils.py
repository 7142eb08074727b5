"""Config presets load, overrides are typed and checked, typos fail with the field and its neighbours named."""
import pytest

from decompjax import config_utils

PRESET = "configs/syntone_beta_vae.py"


def test_override_changes_typed_fields():
  c = config_utils.build_config(PRESET, [("model.beta", "8"), ("train.steps", "2000"), ("audio.frontend", "log_mel"),
                                         ("data.grid.band_limited", "true")])
  assert c.model.beta == 8.0 and isinstance(c.model.beta, float)
  assert c.train.steps == 2000 and isinstance(c.train.steps, int)
  assert c.audio.frontend == "log_mel"
  assert c.data.grid.band_limited is True


def test_config_is_locked_after_build():
  c = config_utils.build_config(PRESET, [])
  with pytest.raises(AttributeError):
    c.model.bta = 3.0


def test_unknown_field_names_field_and_valid_keys():
  with pytest.raises(config_utils.ConfigError) as e:
    config_utils.build_config(PRESET, [("model.bta", "8")])
  msg = str(e.value)
  assert "model.bta" in msg and "'beta'" in msg and "latent_dim" in msg


def test_wrong_type_is_rejected():
  with pytest.raises(config_utils.ConfigError, match="train.steps.*integer"):
    config_utils.build_config(PRESET, [("train.steps", "many")])
  with pytest.raises(config_utils.ConfigError, match="group of fields"):
    config_utils.build_config(PRESET, [("model", "3")])


def test_preset_args_and_unknown_arg():
  smoke = config_utils.build_config(PRESET + ":smoke", [])
  full = config_utils.build_config(PRESET, [])
  assert smoke.train.steps < full.train.steps and smoke.data.grid.num_freqs < full.data.grid.num_freqs
  with pytest.raises(ValueError, match="unknown config argument"):
    config_utils.build_config(PRESET + ":smok", [])


def test_missing_file_and_split_args():
  with pytest.raises(config_utils.ConfigError, match="not found"):
    config_utils.build_config("configs/nope.py", [])
  spec, overrides, rest = config_utils.split_config_args(
      ["--config=configs/a.py:smoke", "--config.model.beta=2", "--workdir=x"])
  assert spec == "configs/a.py:smoke" and overrides == [("model.beta", "2")] and rest == ["--workdir=x"]


def test_save_and_reload_roundtrip(tmp_path):
  c = config_utils.build_config(PRESET, [("model.beta", "8")])
  config_utils.save_config(c, str(tmp_path / "config.json"))
  back = config_utils.load_saved_config(str(tmp_path / "config.json"))
  assert back.model.beta == 8.0 and back.model.family == "beta_vae"


@pytest.mark.parametrize("arg", ["smoke", "smoke=", "smoke=true", "smoke=1", "smoke=Yes", "smoke=on"])
def test_bool_preset_arg_true_spellings(arg):
  assert config_utils.build_config(f"{PRESET}:{arg}", []).train.steps == 3


@pytest.mark.parametrize("arg", ["smoke=false", "smoke=0", "smoke=no", "smoke=OFF"])
def test_bool_preset_arg_false_spellings(arg):
  assert config_utils.build_config(f"{PRESET}:{arg}", []).train.steps == 8000


def test_bad_bool_preset_arg_is_an_error_not_the_full_preset():
  # 'smoke=3' used to mean smoke=False: the full 8000-step preset, silently.
  with pytest.raises(config_utils.ConfigError) as e:
    config_utils.build_config(f"{PRESET}:smoke=3", [])
  assert str(e.value) == ("config argument 'smoke'='3': expected a boolean: true/false, 1/0, yes/no, on/off "
                          "(or 'smoke' alone for true)")


def test_bad_typed_preset_args_are_config_errors():
  from configs import common
  with pytest.raises(config_utils.ConfigError, match=r"^config argument 'n'='x': expected an integer$"):
    common.parse_arg("n=x", n=1)
  with pytest.raises(config_utils.ConfigError, match=r"^config argument 'rate'='fast': expected a number$"):
    common.parse_arg("rate=fast", rate=0.5)
  with pytest.raises(config_utils.ConfigError, match=r"^config argument 'arch' needs a value: arch=<text>$"):
    config_utils.build_config("configs/autodecompose.py:arch", [])
  assert common.parse_arg("n=4,rate=2", n=1, rate=0.5).to_dict() == {"n": 4, "rate": 2.0}
