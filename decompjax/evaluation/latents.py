"""What a family hands `decompjax compare`: its latents of a dataset, named so that runs on the same data line up.

A family's optional `latents(config, state, max_examples)` (decompjax.family) returns a list of `LatentSet`s: one
per latent space it exposes (a VAE's mu; Autodecompose's E_s and E_c; DecVAE's Z per frame and S per
utterance). Each set names its data (`dataset`: the data's identity and the unit a row stands for) and its
examples (`ids`, the same for every run on the same data), so that compare groups runs by data and scores every
run of a group on the same examples. Nothing here computes a score.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

NO_FACTORS = "no factor labels"


@dataclasses.dataclass
class LatentSet:
  name: str                      # the latent space, e.g. 'mu', 'E_s (voice)', 'Z all'
  dataset: dict[str, Any]        # JSON-able identity of the data and the row unit: the grouping key
  codes: np.ndarray              # [N, D] float
  ids: np.ndarray                # [N] str: which example a row is (equal across runs on the same data)
  labels: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # name -> [N] int classes (probes)
  factors: tuple[str, ...] = ()  # the labels that are ground-truth generative factors (disentanglement metrics)
  no_factors_reason: str = NO_FACTORS  # shown for the disentanglement metrics when `factors` is empty
  train: np.ndarray | None = None  # [N] bool fixed probe split (UCR's train/test); None: compare's seeded split
  scores: dict[str, float] = dataclasses.field(default_factory=dict)  # family scores on these examples (BSS Eval)
  audio: dict[str, tuple[np.ndarray, int]] = dataclasses.field(default_factory=dict)  # a few clips for the page

  def __post_init__(self):
    self.codes = np.asarray(self.codes, np.float64).reshape(len(self.codes), -1)
    self.ids = np.asarray([str(i) for i in self.ids])
    if len(self.ids) != len(self.codes) or any(len(v) != len(self.codes) for v in self.labels.values()):
      raise ValueError(f"latent set {self.name!r}: codes, ids and labels differ in length")
    if len(set(self.ids.tolist())) != len(self.ids):
      raise ValueError(f"latent set {self.name!r}: example ids are not unique")
    missing = set(self.factors) - set(self.labels)
    if missing:
      raise ValueError(f"latent set {self.name!r}: factors {sorted(missing)} have no labels")

  def group_key(self) -> str:
    """The dataset identity as canonical JSON: equal keys = the same data, the same row unit."""
    return json.dumps(self.dataset, sort_keys=True, default=str)

  def take(self, rows: np.ndarray) -> "LatentSet":
    """The set restricted to `rows` (indices), in that order."""
    return dataclasses.replace(self, codes=self.codes[rows], ids=self.ids[rows],
                               labels={k: np.asarray(v)[rows] for k, v in self.labels.items()},
                               train=None if self.train is None else np.asarray(self.train)[rows])


def config_dict(section) -> dict:
  """A config section as a plain dict (ConfigDict or dict), for a dataset identity."""
  return section.to_dict() if hasattr(section, "to_dict") else dict(section)
