"""The multi-process proof (issue 13 §6): 2 processes x 2 CPU devices on localhost, marked `multihost`.

Runs are expensive (each process starts JAX, TF and the gloo cluster), so each test module trains once in a
module-scoped fixture and its tests check that run from several sides. Children share one JAX compilation
cache per session (harness._jit_cache_dir)."""
from __future__ import annotations

import os
import tempfile

import pytest

from tests.multihost import harness


@pytest.fixture(scope="session", autouse=True)
def _shared_jit_cache():
  """A fresh compilation cache for this session's children (no stale executable outlives the code)."""
  if "DECOMPJAX_MULTIHOST_JIT_CACHE" not in os.environ:
    os.environ["DECOMPJAX_MULTIHOST_JIT_CACHE"] = tempfile.mkdtemp(prefix="decompjax_multihost_jit_")
  yield


@pytest.fixture
def groups():
  """Groups a test starts (append them): any still running when the test ends are killed."""
  started: list[harness.Group] = []
  yield started
  for group in started:
    group.kill()
