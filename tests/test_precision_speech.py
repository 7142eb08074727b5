"""config.train.dtype=bfloat16 for the speech and separation families (Autodecompose, DecVAE, the DecVAE frame-MLP
baseline, ConVAE-BSS); the checks are those of tests/test_precision.py (tests/precision_harness.py)."""
import pytest

from tests import precision_harness as harness

NAMES = ("autodecompose", "decvae", "decvae_fc_vae", "convae_bss")


@pytest.mark.parametrize("name", NAMES)
def test_bfloat16_step_computes_in_bf16_keeps_float32_state_and_tracks_float32(name):
  harness.check_bfloat16_tracks_float32(name)


def test_the_two_files_cover_every_registered_family():
  from decompjax import registry
  from tests import test_precision
  shipped = [n for n in registry.names() if registry._FAMILIES[n].startswith("decompjax.")]  # not tests' toys
  assert sorted(NAMES + test_precision.NAMES) == sorted(harness.PRESETS) == shipped
