"""SIGINT/SIGTERM while training: remember the signal so the trainer stops at the next step boundary.

Python's default SIGINT handler raises wherever the main thread happens to be, e.g. inside a checkpoint save,
and SIGTERM's default kills the process, losing up to `ckpt_every` steps (a SLURM time limit, a preempted VM).
Handlers can only be installed from the main thread; elsewhere (a worker thread) nothing changes.
"""
from __future__ import annotations

import contextlib
import signal
import threading


class StopRequest:
  """`signum` of the first SIGINT/SIGTERM received, or None."""

  def __init__(self):
    self.signum: int | None = None

  def __bool__(self) -> bool:
    return self.signum is not None

  @property
  def name(self) -> str:
    return signal.Signals(self.signum).name if self.signum is not None else ""


@contextlib.contextmanager
def deferred(signals=(signal.SIGINT, signal.SIGTERM)):
  """Within the block the signals only set the yielded StopRequest; the previous handlers come back after.

  A second Ctrl-C raises KeyboardInterrupt at once: the way out of a step that never ends.
  """
  request = StopRequest()
  if threading.current_thread() is not threading.main_thread():
    yield request
    return

  def handler(signum, frame):
    del frame
    if request and signum == signal.SIGINT:
      raise KeyboardInterrupt
    if not request:
      request.signum = signum

  previous = {s: signal.signal(s, handler) for s in signals}
  try:
    yield request
  finally:
    for s, h in previous.items():
      signal.signal(s, h if h is not None else signal.SIG_DFL)  # None: set outside Python; default is closest
