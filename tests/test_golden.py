"""Golden bit-identity per family: each smoke preset trained 3 steps on 8 devices must give exactly the state
(params, optimizer state, model state) and logged losses recorded in tests/golden/golden.json.

This is the safety net for refactors that must not change numerics (moving code between modules, sharing the
gradient step, building the optimizer once). The hashes depend on the jax/XLA build and the CPU, so the file
carries an environment stamp and the test skips, saying why, on another environment. Re-record (only when a
numerical change is intended, and say so in the commit) with:

  DECOMPJAX_RECORD_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_golden.py
"""
import hashlib
import json
import os
import pathlib
import platform

import jax
import numpy as np
import pytest

from decompjax import config_utils, metric_writer, train

GOLDEN = pathlib.Path(__file__).parent / "golden" / "golden.json"
RECORD = os.environ.get("DECOMPJAX_RECORD_GOLDEN") == "1"

# family -> (preset, overrides that point its data at the test's tmp dir)
RUNS = {
    "beta_vae": ("configs/syntone_beta_vae.py:smoke", lambda d: [("data.dir", d)]),
    "beta_tcvae": ("configs/syntone_beta_tcvae.py:smoke", lambda d: [("data.dir", d)]),
    "factor_vae": ("configs/syntone_factor_vae.py:smoke", lambda d: [("data.dir", d)]),
    "vqvae": ("configs/vqvae_ucr.py:smoke", lambda d: []),
    "barlow_vqvae": ("configs/barlow_vqvae_ucr.py:smoke", lambda d: []),
    "autodecompose": ("configs/autodecompose.py:smoke", lambda d: [("data.cache_dir", d)]),
}


def environment_stamp() -> dict:
  import jaxlib
  flags = ""
  if os.path.isfile("/proc/cpuinfo"):
    with open("/proc/cpuinfo") as f:
      flags = next((line for line in f if line.startswith("flags")), "")
  return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "numpy": np.__version__,
          "machine": platform.machine(), "avx512f": " avx512f" in flags, "devices": jax.device_count()}


def state_hashes(state) -> dict[str, str]:
  out = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(jax.device_get(state))[0]:
    a = np.asarray(leaf)
    digest = hashlib.sha256(a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()).hexdigest()
    out[jax.tree_util.keystr(path)] = digest[:16]
  return out


def logged_losses(workdir) -> list[dict]:
  # examples_per_sec is a timing, not a result
  return [{k: v for k, v in r.items() if not k.endswith("examples_per_sec")}
          for r in metric_writer.read_metrics(workdir)]


def run_family(family, tmp_path) -> dict:
  preset, data_overrides = RUNS[family]
  data_dir = str(tmp_path / "data")
  overrides = data_overrides(data_dir) + [("train.steps", "3"), ("mesh.num_devices", "8"),
                                          ("train.progress", "false"), ("train.eval_at_end", "false")]
  config = config_utils.build_config(preset, overrides)
  assert config.model.family == family
  workdir = str(tmp_path / "run")
  state = train.train_and_evaluate(config, workdir)
  return {"state": state_hashes(state), "metrics": logged_losses(workdir)}


@pytest.fixture(scope="module")
def golden():
  if RECORD:
    return {"environment": environment_stamp(), "families": {}}
  if not GOLDEN.is_file():
    pytest.fail(f"{GOLDEN} is missing: record it with DECOMPJAX_RECORD_GOLDEN=1")
  data = json.loads(GOLDEN.read_text())
  if data["environment"] != environment_stamp():
    pytest.skip(f"golden hashes were recorded on {data['environment']}, this is {environment_stamp()}: "
                "bit-identity is only defined on the same jax build and CPU")
  return data


@pytest.mark.parametrize("family", sorted(RUNS))
def test_family_trains_bit_identically_to_the_golden_record(family, golden, tmp_path):
  assert jax.device_count() == 8, "conftest must force 8 CPU devices"
  got = run_family(family, tmp_path)
  if RECORD:
    golden["families"][family] = got
    GOLDEN.parent.mkdir(exist_ok=True)
    current = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {"families": {}}
    current["environment"] = golden["environment"]
    current["families"][family] = got
    GOLDEN.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    return
  want = golden["families"][family]
  assert got["metrics"] == want["metrics"]
  assert sorted(got["state"]) == sorted(want["state"]), "the state's tree structure changed"
  changed = [k for k in want["state"] if got["state"][k] != want["state"][k]]
  assert not changed, f"{len(changed)} state leaves differ from the golden record, e.g. {changed[:3]}"
