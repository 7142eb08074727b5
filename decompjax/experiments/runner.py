"""Runs a grid of training runs, each resumable on its own: the one runner behind every multi-run study.

A run is a `RunSpec`: identifying fields (`key`), a preset and `--config.a.b`-style overrides (built, checked and
locked by `config_utils.build_config`), a run directory, and optional extra evaluation milestones. `run(spec)`:
  1. builds the config (with train.eval_at_end=false: the runner evaluates, once per milestone and at the end)
     and its fingerprint: the sha256 of the config as JSON, less the fields that only change what is printed
     (`UNFINGERPRINTED`);
  2. reuses `<rundir>/result.json` when it is complete, its fingerprint matches and it holds every milestone
     asked for (nothing is rewritten);
  3. otherwise evaluates each milestone it has no result for (step 0 = the initial state, built exactly as the
     trainer initialises it; step k = trains to k, then evaluates into <rundir>/probes/step_k/), trains to the
     end (`train.train_and_evaluate` resumes from the run's checkpoints), evaluates into <rundir>/eval/
     (`evaluation.report.evaluate_and_write`), calls the study's `after` hook (SynTone's GIF), and writes
     result.json atomically after every milestone and at the end.
A result.json of another config is not reused: the run is trained on from its checkpoints and evaluated again
(a warning names the fields that changed); a milestone its checkpoints have already passed is an error.

CPU devices: JAX fixes its CPU device count when it starts, so one process cannot give two runs different
splits. `run_all` decides the split once per process from the first run's `config.mesh.cpu_devices` (or the
--cpu_devices flag); runs whose own value differs run in a spawned child process per value, which sets its split
before it starts JAX. On an accelerator, or when the count is already fixed (XLA_FLAGS forces one, as the tests
do, or JAX started earlier in this process), every run shares this process's devices.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import time
from typing import Any, Callable, Mapping, Sequence

from decompjax import config_utils, cpu_devices
from decompjax.errors import UsageError

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
MILESTONE_DIR = "probes"
# Fields that change what a run prints, not what it computes.
UNFINGERPRINTED = ("train.progress", "train.log_every")


@dataclasses.dataclass(frozen=True)
class RunSpec:
  key: tuple[tuple[str, Any], ...]        # ordered identifying fields, e.g. (("model", "vae"), ("seed", 0))
  preset: str                             # "configs/x.py[:arg]"
  overrides: tuple[tuple[str, str], ...]  # ("a.b", "value") as --config.a.b=value
  rundir: str
  eval_at: tuple[int, ...] = ()           # extra evaluation milestones (steps); the end is always evaluated

  def fields(self) -> dict[str, Any]:
    return dict(self.key)

  def config(self):
    """The run's config: preset + overrides, checked and locked; the runner evaluates, not the trainer."""
    return config_utils.build_config(self.preset, list(self.overrides) + [("train.eval_at_end", "false")])


# after(spec, config, state, final results) -> extra fields for result.json (or None). Runs once, when the run
# finishes (not when a finished run is reused). Must be a module-level function (or a partial of one) so that a
# child process can receive it.
AfterHook = Callable[[RunSpec, Any, Any, dict], "dict | None"]


def expand(axes: Mapping[str, Sequence], make: Callable[[dict], "RunSpec | None"]) -> list[RunSpec]:
  """The cartesian product of `axes` in their declared order (the first axis varies slowest); make(cell) builds
  the RunSpec of one cell, or returns None to skip it."""
  names = list(axes)
  specs = []
  for values in itertools.product(*(axes[n] for n in names)):
    spec = make(dict(zip(names, values)))
    if spec is not None:
      specs.append(spec)
  return specs


def _config_dict(config) -> dict:
  return json.loads(config.to_json_best_effort(sort_keys=True))


def _fingerprinted(config) -> dict:
  d = _config_dict(config)
  for dotted in UNFINGERPRINTED:
    *parents, leaf = dotted.split(".")
    node = d
    for p in parents:
      node = node.get(p, {})
    node.pop(leaf, None)
  return d


def fingerprint(config) -> str:
  """sha256 of the config as canonical JSON, less UNFINGERPRINTED: equal iff the run computes the same thing."""
  text = json.dumps(_fingerprinted(config), sort_keys=True, separators=(",", ":"))
  return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
  out = {}
  for k, v in d.items():
    if isinstance(v, Mapping):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def config_diff(old: Mapping | None, new: Mapping, limit: int = 6) -> str:
  """'a.b: 1 -> 2, ...' between two config dicts (the fields that differ)."""
  if not old:
    return "no config recorded"
  a, b = _flatten(old), _flatten(new)
  changed = [f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}" for k in sorted(set(a) | set(b))
             if a.get(k, "<absent>") != b.get(k, "<absent>")]
  more = f", and {len(changed) - limit} more" if len(changed) > limit else ""
  return ", ".join(changed[:limit]) + more


def result_path(rundir: str) -> str:
  return os.path.join(rundir, RESULT_FILE)


def milestone_dir(rundir: str, step: int) -> str:
  return os.path.join(rundir, MILESTONE_DIR, f"step_{step}")


def load_result(rundir: str) -> dict | None:
  """The run's result.json, or None when there is none (or it cannot be read: the run is redone)."""
  path = result_path(rundir)
  if not os.path.isfile(path):
    return None
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    log.warning("ignoring unreadable %s (%s); the run is redone from its checkpoints", path, e)
    return None


def _write_result(rundir: str, result: dict) -> None:
  import jax
  if jax.process_index() != 0:
    return
  os.makedirs(rundir, exist_ok=True)
  path = result_path(rundir)
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2, sort_keys=True, default=str)
  os.replace(tmp, path)


def _with_steps(config, steps: int):
  c = config.copy_and_resolve_references()
  c.train.steps = steps
  return c


def _resolved(family, config):
  """A copy of `config` with the family's data-dependent fields filled (what the trainer saves)."""
  if family.resolve_config is None:
    return config
  c = config.copy_and_resolve_references()
  family.resolve_config(c)
  return c


def initial_state(config):
  """The state the trainer starts from (step 0), without training: the same init function, rng and sharding
  (train.train_and_evaluate splits key(seed) into init, step and eval keys and initialises with the first).
  Returns (state, config as resolved by the family)."""
  import jax
  from decompjax import registry, sharding, train
  family = registry.get_family(config.model.family)
  config = _resolved(family, config)
  example = family.example_batch(config)
  mesh = sharding.config_mesh(config)
  shardings = train.make_state_shardings(train.abstract_state(family, config, example), mesh, config)
  init_rng, _, _ = jax.random.split(jax.random.key(config.seed), 3)
  init = jax.jit(lambda rng, b: family.init_state(config, rng, b), out_shardings=shardings)
  return init(init_rng, example), config


def _behind(rundir: str, expected: int, step: int) -> UsageError:
  return UsageError(f"{rundir}: cannot evaluate step {expected}: the run's checkpoints are at step {step} "
                    f"(a run of another config?). Delete {rundir} to run it again.")


def _train_to(config, steps: int, rundir: str):
  """train.train_and_evaluate up to `steps`; refuses (before the trainer rewrites config.json) when the run's
  newest checkpoint is already past it, and checks the step it got."""
  import jax
  from decompjax import checkpointing, train
  ckpt_dir = train.checkpoint_dir(rundir)
  if os.path.isdir(ckpt_dir):
    ckpt = checkpointing.Checkpointer(ckpt_dir, read_only=True)
    try:
      latest = ckpt.latest_step()
    finally:
      ckpt.close()
    if latest is not None and latest > steps:
      raise _behind(rundir, steps, latest)
  state = train.train_and_evaluate(config if config.train.steps == steps else _with_steps(config, steps), rundir)
  step = int(jax.device_get(state.step))
  if step != steps:
    raise _behind(rundir, steps, step)
  return state


def _milestones(spec: RunSpec, total: int) -> set[int]:
  return {int(s) for s in spec.eval_at if 0 <= int(s) < total}


def _previous(spec: RunSpec, config, *, quiet: bool = False) -> tuple[dict | None, bool]:
  """(the run's result.json if it was made with this config, whether it is finished with every milestone)."""
  prev = load_result(spec.rundir)
  if prev is not None and prev.get("fingerprint") != fingerprint(config):
    if not quiet:
      log.warning("%s: its result.json was made with another config (%s); training on from its checkpoints "
                  "and evaluating again", spec.rundir, config_diff(prev.get("config"), _fingerprinted(config)))
    return None, False
  history = {int(h["step"]) for h in (prev or {}).get("history", [])}
  done = prev is not None and bool(prev.get("complete")) and _milestones(spec, config.train.steps) <= history
  if done and not quiet:
    log.info("reusing %s", result_path(spec.rundir))
  return prev, done


def run(spec: RunSpec, *, after: AfterHook | None = None) -> dict:
  """Trains and evaluates one run, or reuses its finished result; returns the result.json content:
  {key, fingerprint, config, complete, steps, results (final evaluation), history [{step, results}],
  seconds {train, eval}, extra (what `after` returned)}."""
  config = spec.config()
  fp = fingerprint(config)
  total = config.train.steps
  wanted = _milestones(spec, total)
  prev, done = _previous(spec, config)
  if done:
    return prev
  history = {int(h["step"]): h for h in (prev or {}).get("history", [])}

  from decompjax import registry
  from decompjax.evaluation import report
  family = registry.get_family(config.model.family)
  result = {"key": spec.fields(), "fingerprint": fp, "config": _fingerprinted(config), "complete": False,
            "steps": None, "results": None, "history": [], "seconds": {"train": 0.0, "eval": 0.0}, "extra": {}}
  seconds = result["seconds"]

  def evaluate(cfg, state, workdir: str) -> dict:
    t = time.perf_counter()
    metrics = report.evaluate_and_write(family, cfg, state, workdir)
    seconds["eval"] += time.perf_counter() - t
    return metrics

  for step in sorted(wanted - set(history)):
    t = time.perf_counter()
    if step == 0:
      state, cfg = initial_state(config)
    else:
      cfg, state = _with_steps(config, step), _train_to(config, step, spec.rundir)
    seconds["train"] += time.perf_counter() - t
    history[step] = {"step": step, "results": evaluate(cfg, state, milestone_dir(spec.rundir, step))}
    result["history"] = [history[s] for s in sorted(history)]
    _write_result(spec.rundir, result)

  t = time.perf_counter()
  state = _train_to(config, total, spec.rundir)
  seconds["train"] += time.perf_counter() - t
  result.update(results=evaluate(config, state, spec.rundir), steps=total,
                history=[history[s] for s in sorted(history)])
  if after is not None:
    result["extra"] = dict(after(spec, config, state, result["results"]) or {})
  result["complete"] = True
  _write_result(spec.rundir, result)
  return result


# This process's CPU split, decided once: JAX cannot change its device count after it starts.
_PROCESS: dict[str, Any] = {}


def cpu_device_count(config) -> int:
  """The CPU devices a run of `config` asks for: the --cpu_devices flag if given, else config.mesh.cpu_devices."""
  return cpu_devices.requested(config)


def _split_here(first: int) -> tuple[bool, int]:
  """(whether each run can get its own CPU split, how many devices this process has). The first call sets this
  process's split to `first` and starts JAX."""
  if not _PROCESS:
    settable = cpu_devices.configure(first) is not None
    import jax
    _PROCESS["per_run"] = settable and jax.default_backend() == "cpu"
    _PROCESS["devices"] = jax.device_count()
  return _PROCESS["per_run"], _PROCESS["devices"]


def devices_per_run(configs: Sequence) -> list[int]:
  """How many devices each config's run will have (before mesh.num_devices picks some of them): its own CPU split
  on a CPU host whose split can still be chosen, else what this process has."""
  wanted = [cpu_device_count(c) for c in configs]
  if not wanted:
    return []
  per_run, here = _split_here(wanted[0])
  return wanted if per_run else [here] * len(wanted)


def run_all(specs: Sequence[RunSpec], *, after: AfterHook | None = None) -> list[dict]:
  """Runs every spec (see `run`), grouped by CPU split (module docstring); returns the results in spec order.
  Every config is built first, so a bad override fails before anything trains."""
  specs = list(specs)
  dirs = [os.path.abspath(s.rundir) for s in specs]
  if len(set(dirs)) != len(dirs):
    dup = sorted({d for d in dirs if dirs.count(d) > 1})
    raise UsageError(f"two runs of the grid share a run directory: {dup}")
  configs = [s.config() for s in specs]
  results: list[dict | None] = [None] * len(specs)
  todo = []
  for i, (spec, config) in enumerate(zip(specs, configs)):
    prev, done = _previous(spec, config, quiet=True)
    if done:  # read here: a finished run needs neither JAX nor a child process
      log.info("reusing %s", result_path(spec.rundir))
      results[i] = prev
    else:
      todo.append(i)
  if not todo:
    return results
  counts = devices_per_run([configs[i] for i in todo])
  here = _PROCESS.get("devices")
  groups: dict[int, list[int]] = {}
  for i, n in zip(todo, counts):
    groups.setdefault(n, []).append(i)
  for n, members in groups.items():
    group = [specs[i] for i in members]
    if n == here:
      out = [run(s, after=after) for s in group]
    else:
      log.info("%d run(s) want %d CPU devices (this process has %d): running them in a child process",
               len(group), n, here)
      out = _run_in_child(n, group, after)
    for i, r in zip(members, out):
      results[i] = r
  return results


def _run_in_child(count: int, specs: list[RunSpec], after: AfterHook | None) -> list[dict]:
  level = logging.getLogger("decompjax").getEffectiveLevel()
  context = multiprocessing.get_context("spawn")  # a fresh interpreter: JAX not started yet
  with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
    return pool.submit(_child_main, count, specs, after, level).result()


def _child_main(count: int, specs: list[RunSpec], after: AfterHook | None, level: int) -> list[dict]:
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  logging.getLogger("decompjax").setLevel(level)
  cpu_devices.configure(count)
  return [run(s, after=after) for s in specs]
