"""Training progress on process 0: a tqdm bar on a terminal or in a notebook, plain lines anywhere else.

A bar redraws itself with carriage returns; written to a log file (SLURM, `> log 2>&1`, CI) every redraw
becomes a frame of garbage. Off a terminal, each logged step prints one line instead.
"""
from __future__ import annotations

import sys


def _draws_in_place() -> bool:
  if sys.stderr.isatty():
    return True
  shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
  return shell is not None and "IPKernelApp" in getattr(shell, "config", {})  # tqdm.auto's widget


class Progress:
  def __init__(self, name: str, total: int, initial: int):
    self.name, self.total = name, total
    self._bar = None
    if _draws_in_place():
      from tqdm.auto import tqdm
      self._bar = tqdm(total=total, initial=initial, desc=name, unit="step", dynamic_ncols=True)

  def step_done(self) -> None:
    if self._bar is not None:
      self._bar.update(1)

  def logged(self, step: int, metrics: dict[str, float]) -> None:
    """Called with the metrics written at a log step."""
    if self._bar is not None:
      self._bar.set_postfix(loss=f"{metrics['loss']:.4g}", ex_s=f"{metrics['examples_per_sec']:.0f}")
    else:
      print(f"{self.name} step {step}/{self.total}: loss {metrics['loss']:.4g}, "
            f"{metrics['examples_per_sec']:.0f} examples/s", file=sys.stderr, flush=True)

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
