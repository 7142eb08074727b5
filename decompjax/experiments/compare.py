"""`decompjax compare`: one leaderboard over trained runs of any family.

Each workdir is restored (its saved config and latest checkpoint) and its family, found through the registry,
gives its latents of its evaluation data (`Family.latents`, decompjax/evaluation/latents.py). The sets are
grouped by the data they come from and every group is scored on its shared examples with one metric suite, one
probe and one seed (decompjax/evaluation/compare.py); the tables, plots and the HTML page are written to `out`:
leaderboard.md, leaderboard.csv, leaderboard.html, group<i>_bars.png and group<i>_radar.png.
"""
from __future__ import annotations

import glob as glob_lib
import logging
import os
from typing import Sequence

from decompjax import fileio
from decompjax.errors import UsageError
from decompjax.evaluation import compare as compare_lib

log = logging.getLogger(__name__)
FILES = ("leaderboard.md", "leaderboard.csv", "leaderboard.html")


def resolve_workdirs(workdirs: Sequence[str] = (), pattern: str | None = None) -> list[str]:
  """The workdirs named, then those the glob matches that hold a config.json (sorted); each once. A named
  workdir without config.json, or nothing at all to compare, is a UsageError."""
  out = []
  for w in workdirs:
    if not fileio.isfile(fileio.join(w, "config.json")):
      raise UsageError(f"{w} is not a decompjax workdir (no config.json)")
    out.append(w)
  if pattern:
    matched = sorted(p for p in glob_lib.glob(pattern) if os.path.isfile(os.path.join(p, "config.json")))
    if not matched:
      raise UsageError(f"--glob {pattern!r} matches no workdir (a folder with config.json)")
    out += matched
  if not out:
    raise UsageError("nothing to compare: give --workdirs RUN1 RUN2 ... or --glob 'runs/*'")
  seen, unique = set(), []
  for w in out:
    key = os.path.normpath(os.path.abspath(w)) if not fileio.is_remote(w) else w
    if key not in seen:
      seen.add(key)
      unique.append(w)
  return unique


def _labels(workdirs: Sequence[str]) -> list[str]:
  """Each run's name in the tables: its folder name, with the parent folder added where names repeat."""
  names = [os.path.basename(os.path.normpath(w)) or w for w in workdirs]
  return [f"{os.path.basename(os.path.dirname(os.path.normpath(w)))}/{n}" if names.count(n) > 1 else n
          for w, n in zip(workdirs, names)]


def load_entries(workdirs: Sequence[str], max_examples: int) -> list[compare_lib.Entry]:
  """Restores every run and asks its family for its latents (at most max_examples examples per set)."""
  from decompjax import registry, restore
  entries = []
  for w, label in zip(workdirs, _labels(workdirs)):
    config, state = restore.load_run(w)
    family = registry.get_family(config.model.family)
    if family.latents is None:
      raise UsageError(f"{w}: family {family.name!r} gives no latents to compare (Family.latents is not set)")
    log.info("compare: encoding %s (%s, step %d)", w, family.name, int(state.step))
    sets = family.latents(config, state, int(max_examples))
    entries += [compare_lib.Entry(label, family.name, w, s) for s in sets]
  return entries


def score(entries: Sequence[compare_lib.Entry], *, max_points: int = 2000, seed: int = 0, sampler_points: int = 1000,
          dci_trees: int = 100) -> list[compare_lib.Group]:
  """One Group per dataset, in the order the data first appears."""
  return [compare_lib.score_group(members, max_points=max_points, seed=seed, sampler_points=sampler_points,
                                  dci_trees=dci_trees)
          for members in compare_lib.group_entries(entries).values()]


def write(groups: Sequence[compare_lib.Group], out: str) -> list[str]:
  """Writes the leaderboard files and the plots under `out`; returns the paths written."""
  from decompjax.evaluation import compare_page
  fileio.makedirs(out)
  written, images = [], []
  for i, g in enumerate(groups):
    title = f"group {i + 1}: {compare_lib.describe(g.dataset)}"
    imgs = {f"group{i + 1}_bars.png": compare_page.png_bytes(compare_page.bar_figure(g, title))}
    radar = compare_page.radar_figure(g, title)
    if radar is not None:
      imgs[f"group{i + 1}_radar.png"] = compare_page.png_bytes(radar)
    for name, data in imgs.items():
      written.append(fileio.write_bytes_atomic(fileio.join(out, name), data))
    images.append(imgs)
  texts = {"leaderboard.md": compare_lib.markdown(groups), "leaderboard.csv": compare_lib.csv_text(groups),
           "leaderboard.html": compare_page.page(groups, images)}
  for name, text in texts.items():
    written.append(fileio.write_text_atomic(fileio.join(out, name), text))
  return written


def compare(workdirs: Sequence[str], out: str, *, max_examples: int = 2000, max_points: int = 2000, seed: int = 0,
            sampler_points: int = 1000, dci_trees: int = 100) -> list[compare_lib.Group]:
  """Restores, encodes, groups, scores and writes; returns the groups."""
  groups = score(load_entries(workdirs, max_examples), max_points=max_points, seed=seed,
                 sampler_points=sampler_points, dci_trees=dci_trees)
  write(groups, out)
  return groups
