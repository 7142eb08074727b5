"""SIGINT/SIGTERM while training: stop at a step boundary, with one checkpoint, on every process together.

Python's default SIGINT handler raises wherever the main thread happens to be, e.g. inside a checkpoint save,
and SIGTERM's default kills the process, losing up to `ckpt_every` steps (a SLURM time limit, a preempted VM).

One process: the signals only set a flag, and the trainer stops at the next step boundary.

Several processes (jax.distributed initialised): a checkpoint save is collective, so a process that stops
alone (or saves alone) hangs the others. SIGTERM is left to JAX's preemption notifier (C++, installed by
jax.distributed.initialize; a Python handler would replace it): it tells the coordination service, which tells
every process. SIGINT sets our flag and re-sends SIGTERM to its own process, so Ctrl-C on one host reaches the
others the same way. At each step boundary every process asks
`multihost_utils.reached_preemption_sync_point(step)`; it is True on all of them at the same step, and only
then do they stop (and save that step together).

Handlers can only be installed from the main thread; elsewhere (a worker thread) nothing changes.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading

import jax

log = logging.getLogger(__name__)


class StopRequest:
  """Why and when to stop. `signum`: the signal that stops this process (None until it must stop);
  `should_stop(step)`, asked at every step boundary by every process, says when."""

  def __init__(self, coordinated: bool = False):
    self.signum: int | None = None
    self.coordinated = coordinated
    self.local_signum: int | None = None  # the first signal this process itself received

  def __bool__(self) -> bool:
    return self.signum is not None

  @property
  def name(self) -> str:
    return signal.Signals(self.signum).name if self.signum is not None else ""

  def should_stop(self, step: int) -> bool:
    """True once training must stop after `step`. Coordinated: the same step on every process (a collective
    question: every process must ask it at every step, with the same step numbers)."""
    if not self.coordinated:
      return self.signum is not None
    if self.signum is None:
      from jax.experimental import multihost_utils
      if multihost_utils.reached_preemption_sync_point(step):
        # A SIGINT here (re-sent as SIGTERM) stops this process as Ctrl-C; a notice from elsewhere as SIGTERM.
        self.signum = self.local_signum if self.local_signum == signal.SIGINT else signal.SIGTERM
    return self.signum is not None


def coordination_available() -> bool:
  """True when several processes run and JAX's preemption sync manager exists (jax.distributed initialised)."""
  if jax.process_count() < 2:
    return False
  try:
    from jax._src import distributed as jax_distributed
    return getattr(jax_distributed.global_state, "preemption_sync_manager", None) is not None
  except ImportError:  # a JAX that moved it: stop per process, as on one host
    return False


@contextlib.contextmanager
def deferred(signals=(signal.SIGINT, signal.SIGTERM), coordinated: bool | None = None):
  """Within the block the signals only set the yielded StopRequest; the previous handlers come back after.
  coordinated (default: coordination_available()): see the module docstring; SIGTERM is then not handled
  here.

  A second Ctrl-C raises KeyboardInterrupt at once: the way out of a step that never ends.
  """
  coordinated = coordination_available() if coordinated is None else coordinated
  request = StopRequest(coordinated)
  if threading.current_thread() is not threading.main_thread():
    yield request
    return
  if coordinated:
    signals = tuple(s for s in signals if s != signal.SIGTERM)
    if callable(signal.getsignal(signal.SIGTERM)):  # None: JAX's C++ handler, as jax.distributed left it
      log.warning("SIGTERM has a Python handler (%s), which replaced JAX's preemption notifier: a SIGTERM will "
                  "not stop the processes together", signal.getsignal(signal.SIGTERM))

  def handler(signum, frame):
    del frame
    if request.local_signum is not None and signum == signal.SIGINT:
      raise KeyboardInterrupt
    if request.local_signum is None:
      request.local_signum = signum
      if not coordinated:
        request.signum = signum
      else:
        os.kill(os.getpid(), signal.SIGTERM)  # JAX's notifier tells every process (this one included)

  previous = {s: signal.signal(s, handler) for s in signals}
  try:
    yield request
  finally:
    for s, h in previous.items():
      signal.signal(s, h if h is not None else signal.SIG_DFL)  # None: set outside Python; default is closest
