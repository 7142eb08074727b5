"""Test setup: 8 fake CPU devices (set before JAX is imported anywhere), TF kept off accelerators."""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# Many tests compile the same train step (same config, same shapes) through fresh jax.jit wrappers; a
# persistent compilation cache shared by this run's workers turns the repeats into cache hits. A new
# directory per run, so no stale executable outlives the code that produced it.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  import tempfile
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="decompjax_test_jit_cache_")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

import pathlib  # noqa: E402

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> pathlib.Path:
  return SHARED


@pytest.fixture(scope="session")
def ucr_dir() -> pathlib.Path:
  path = SHARED / "data" / "ucr2015"
  if not path.is_dir():
    pytest.skip(f"shared UCR data not found at {path}")
  return path
