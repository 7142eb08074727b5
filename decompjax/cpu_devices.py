"""How many JAX devices a CPU host is split into when the CPU is what runs the model.

On CPU, JAX gives one device that parallelises each op over the cores. The small convolutions of the SynTone VAE
and the STFT VQ-VAE use the cores poorly that way; splitting the host into a few virtual devices runs the
data-parallel mesh the platform already uses on accelerators: each device takes a slice of the batch, the slices
run concurrently and stay in cache. Same code, same global-batch semantics. Measured on a 2-core VM (README,
Benchmarks): SynTone beta-VAE step 370-440 -> 580-780 examples/s, VQ-VAE 480 -> 245 ms/step with 4 devices;
but models dominated by large matmuls get slower (Barlow projector 4096: 1.5 -> 4.9 s/step, Autodecompose Large
11 -> 4 crops/s), so the split is per preset: `config.mesh.cpu_devices` (1 = JAX's single device; 0 = auto).

`auto` = twice the cores, rounded down to a power of two, at most 8 (4 on 2 cores). When there are at least as
many devices as cores, each device's Eigen ops run single-threaded (`--xla_cpu_multi_thread_eigen=false`, unless
XLA_FLAGS sets it): the devices already keep every core busy, and 4 devices each spreading work over every core
fought over them (SynTone end to end 410-490 vs 500-560 clips/s).

Where it is decided: once, at a command's entry (decompjax.cli and decompjax/commands), from the config the
command runs (its `--config` preset or the workdir's saved config.json) or the command line's `--cpu_devices`;
`configure_for(config)` does that. The library (train_and_evaluate, restore) never changes it; in a notebook call
`configure(n)` right after importing. An explicit `--xla_force_host_platform_device_count` in XLA_FLAGS (the tests
force 8) wins over both. It only changes the CPU backend (GPU/TPU meshes are built from the accelerators) and only
before JAX starts its backends; afterwards it is left as it is.
"""
from __future__ import annotations

import logging
import os

from decompjax.errors import ConfigError

MAX_AUTO = 8

log = logging.getLogger(__name__)


def auto_count(cpu_count: int | None = None) -> int:
  """Twice the cores, rounded down to a power of two, between 1 and MAX_AUTO."""
  target = min(MAX_AUTO, 2 * max(1, cpu_count or os.cpu_count() or 1))
  return 1 << (target.bit_length() - 1)


def parse(value: str | int) -> int:
  """'auto' or 0 -> auto_count(); a positive integer -> itself; anything else -> ValueError."""
  text = str(value).strip().lower()
  if text == "auto":
    return auto_count()
  try:
    n = int(text)
  except ValueError:
    n = -1
  if n < 0:
    raise ConfigError(f"CPU device count must be 'auto', 0 (= auto) or a positive integer, got {value!r} "
                     "(from --cpu_devices or config.mesh.cpu_devices)")
  return n or auto_count()


def configure(count: str | int = 1) -> int | None:
  """Sets JAX's CPU device count to `count` ('auto', 0 = auto, or N). Returns the count set, or None when it was
  left alone: XLA_FLAGS forces a count, or JAX's backends have already started (a second run in the same
  process, a notebook that computed)."""
  n = parse(count)
  if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
    return None
  import jax
  try:
    jax.config.update("jax_num_cpu_devices", n)
  except RuntimeError:  # backends already initialised: keep what is running
    log.debug("CPU device count left as is (JAX already started); asked for %d", n)
    return None
  flags = os.environ.get("XLA_FLAGS", "")
  if n >= (os.cpu_count() or 1) and "xla_cpu_multi_thread_eigen" not in flags:
    os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()  # read when the backend starts
  return n


# The command line's --cpu_devices of this process (set by decompjax.cli only); None = each config decides.
_command_line: int | None = None


def set_command_line(value: str | int | None) -> None:
  """Records the command line's `--cpu_devices` (None: not given). Only the CLI entry calls this."""
  global _command_line
  _command_line = None if value is None else parse(value)


def requested(config) -> int:
  """The CPU devices a run of `config` asks for: the command line's --cpu_devices if given, else
  config.mesh.cpu_devices (1 for configs saved before the field existed)."""
  return _command_line if _command_line is not None else parse(config.mesh.get("cpu_devices", 1))


def configure_for(config) -> int | None:
  """`configure(requested(config))`: what a command's entry calls once, before anything starts JAX."""
  return configure(requested(config))
