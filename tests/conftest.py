"""Test setup: 8 fake CPU devices (set before JAX is imported anywhere), TF kept off accelerators."""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

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
