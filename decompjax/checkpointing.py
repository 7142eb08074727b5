"""orbax CheckpointManager wrapper: async saves, keep-last-N, sharded restore onto any mesh, and a
compatibility check so a workdir of another model is refused before anything in it is touched.

Each step directory holds two items: 'state' (the TrainState pytree) and 'meta' (JSON: family name and the
shape/dtype of every state leaf). Restores always use an abstract target carrying the *current* shardings,
so a checkpoint written on 8 devices restores onto 1 (and the other way round).

Faults:
- A damaged step (a missing array file, a truncated manifest or _METADATA, an empty step folder, broken
  'meta' JSON) is skipped with one warning and the newest step that restores is used; orbax still lists such
  a step, so every restore goes through `restore_newest`. If no step restores: CheckpointCorruptError.
- A training run that resumes behind a damaged step moves that step's folder aside to
  `damaged-<step>-<UTC time>/` (never deleted; orbax ignores folders not named by a number), so the run can
  write that step number again instead of colliding with the damaged folder or resuming into it next time.
- A save that fails for lack of space or permission (disk full, read-only filesystem) raises
  CheckpointWriteError naming the folder and the OS error. orbax writes into a temporary folder and renames
  it only when complete, so the earlier checkpoints are untouched.
- Readers (`read_only=True`: eval, init_from, resume checks) never create or clean anything.

Paths: the folder may be local or an object store (`gs://bucket/run/checkpoints`); orbax takes either, and our
own checks (exists, the write probe, moving a damaged step aside) go through `decompjax.fileio`.
"""
from __future__ import annotations

import datetime
import logging
import os
import re
import sys

import jax
import orbax.checkpoint as ocp

from decompjax import distributed, fileio
from decompjax.errors import MissingInputError, UsageError, UserError

log = logging.getLogger(__name__)


class CheckpointMismatchError(UserError, ValueError):
  """The workdir holds a checkpoint of a different model (family or parameter shapes)."""


class CheckpointCorruptError(UserError, ValueError):
  """No step of a checkpoint folder restores (each one is damaged), or the requested step is damaged."""


class CheckpointWriteError(UserError, ValueError):
  """A checkpoint could not be written (disk full, read-only filesystem, no permission). A UserError, so the
  CLI reports it as one line: the user fixes it by freeing space or choosing a path."""


def describe_tree(tree) -> dict[str, str]:
  """{'path/to/leaf': 'float32[3,3,1,16]'} for every array leaf (works on abstract trees too)."""
  out = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    name = jax.tree_util.keystr(path)
    out[name] = f"{jax.numpy.dtype(leaf.dtype).name}{list(leaf.shape)}"
  return out


# tensorstore reports OS errors inside a ValueError's text: ... Failed writing: "<path>": ... [os_error_code='28']
_TS_ERRNO = re.compile(r"os_error_code='(\d+)'")
_TS_PATH = re.compile(r'(?:Failed writing|Failed to open|Error writing local file): "([^"]+)"')


def storage_failure(exc: BaseException) -> str | None:
  """'No space left on device [errno 28] at /path' if `exc` (or its cause) is a filesystem write failure."""
  seen = set()
  while exc is not None and id(exc) not in seen:
    seen.add(id(exc))
    if isinstance(exc, OSError) and exc.errno is not None:
      where = f" at {exc.filename}" if exc.filename else ""
      return f"{os.strerror(exc.errno)} [errno {exc.errno}]{where}"
    match = _TS_ERRNO.search(str(exc))
    if match:
      code = int(match.group(1))
      path = _TS_PATH.search(str(exc))
      return f"{os.strerror(code)} [errno {code}]" + (f" at {path.group(1)}" if path else "")
    exc = exc.__cause__ or exc.__context__
  return None


class _DropDuplicateOrbaxErrors(logging.Filter):
  """Tracebacks that repeat a failure Checkpointer already reports in one line: orbax's background threads
  log a failed write (absl) before the error reaches us, and a failed restore leaves asyncio tasks whose
  same failure (one per array) nobody retrieved, logged when they are garbage-collected."""

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno < logging.ERROR:
      return True
    if record.name == "asyncio":
      text = record.getMessage()
      return not ("exception was never retrieved" in text and _from_checkpoint_io(text, record.exc_info))
    exc = record.exc_info[1] if record.exc_info else None
    return exc is None or storage_failure(exc) is None


def _from_checkpoint_io(text: str, exc_info) -> bool:
  """An unretrieved asyncio failure is orbax's when its task names orbax code, or (a bare Future, which
  names no code) when the failure itself is tensorstore's: its message carries the 'tensorstore_spec' or names
  the 'OCDBT database' it read."""
  if "/orbax/checkpoint/" in text or "tensorstore_spec" in text or "OCDBT database" in text:
    return True
  tb = exc_info[2] if exc_info else None
  while tb is not None:
    if "/orbax/checkpoint/" in tb.tb_frame.f_code.co_filename:
      return True
    tb = tb.tb_next
  return False


_DUPLICATE_ERRORS_FILTER = _DropDuplicateOrbaxErrors()


def _quiet_closed_loop_callbacks() -> None:
  """After one array of a save or restore fails, orbax closes its event loop while tensorstore still
  completes the other arrays; each completion then prints an 'Exception ignored … Event loop is closed'
  traceback (at exit, after our one-line error). Those, and only those, are dropped."""
  previous = sys.unraisablehook
  if getattr(previous, "_decompjax_quiet", False):
    return

  def hook(unraisable):
    if not (unraisable.exc_type is RuntimeError and str(unraisable.exc_value) == "Event loop is closed"):
      previous(unraisable)

  hook._decompjax_quiet = True
  sys.unraisablehook = hook


def _first_line(exc: BaseException, limit: int = 200) -> str:
  """'Type: first line' of the innermost explicit cause (tensorstore's is the specific one: the outer
  'Encountered error while reading array index' says nothing about what is wrong)."""
  while exc.__cause__ is not None:
    exc = exc.__cause__
  lines = str(exc).strip().splitlines()
  text = lines[0] if lines else ""
  return f"{type(exc).__name__}: {text[:limit]}{'…' if len(text) > limit else ''}"


class Checkpointer:
  """read_only=True: open an existing checkpoint folder for restoring only (a missing folder is a
  FileNotFoundError; nothing is created, cleaned up or garbage-collected)."""

  def __init__(self, directory: str, *, keep: int = 3, async_save: bool = True, read_only: bool = False):
    self.directory = fileio.absolute(directory)  # os.path.abspath would turn gs://b/x into <cwd>/gs:/b/x
    _check_object_store_client(self.directory)
    self.read_only = read_only
    self._failed = False  # a save failed and was reported: close() must not raise it a second time
    self._pending_step = None  # the last save handed to orbax (its async part may still fail)
    _quiet_closed_loop_callbacks()
    for name in ("absl", "asyncio"):
      logging.getLogger(name).addFilter(_DUPLICATE_ERRORS_FILTER)  # idempotent
    if read_only:
      if not fileio.isdir(self.directory):
        raise MissingInputError(f"no checkpoint folder {self.directory}")
      # Not orbax's read_only option: that logs a warning on every open; these options write nothing either.
      # lightweight_initialize: no per-step metadata read on open (orbax would warn about each damaged step
      # on top of restore_newest's one warning).
      options = ocp.CheckpointManagerOptions(max_to_keep=None, create=False, cleanup_tmp_directories=False,
                                             enable_async_checkpointing=False, lightweight_initialize=True)
    else:
      options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, enable_async_checkpointing=async_save,
                                             cleanup_tmp_directories=True)
    try:
      self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "meta"))
    except Exception as e:  # creating checkpoints/ on a full or read-only disk
      self._raise_if_storage(e, None)
      raise

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def read_meta(self, step: int | None = None) -> dict:
    step = self.latest_step() if step is None else step
    restored = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
    return dict(restored["meta"])

  def check_compatible(self, family: str, abstract_state, step: int | None = None,
                       advice: str | None = None) -> None:
    """Raises CheckpointMismatchError (ending with `advice`, default: use another --workdir) if the checkpoint
    was written by another family or state layout."""
    advice = advice or "Use another --workdir; nothing was changed."
    meta = self.read_meta(step)
    where = f"{self.directory} (step {step if step is not None else self.latest_step()})"
    if meta.get("family") != family:
      raise CheckpointMismatchError(
          f"{where} holds a checkpoint of model family {meta.get('family')!r}, but this run is {family!r}. "
          + advice)
    saved, wanted = meta.get("tree", {}), describe_tree(abstract_state)
    if saved != wanted:
      diffs = [f"{k}: checkpoint {saved.get(k, 'missing')} vs model {wanted.get(k, 'missing')}"
               for k in sorted(set(saved) | set(wanted)) if saved.get(k) != wanted.get(k)]
      raise CheckpointMismatchError(
          f"{where} holds a checkpoint whose shapes differ from this config ({len(diffs)} leaves), e.g. "
          + "; ".join(diffs[:3]) + ". " + advice)

  def save(self, step: int, state, family: str, *, force: bool = True) -> bool:
    if self.read_only:
      raise RuntimeError(f"{self.directory} was opened read-only")
    self.wait()  # a failure of the previous async save surfaces here, named by its own step
    self._check_writable(step)
    meta = {"family": family, "step": int(step), "tree": describe_tree(state)}
    try:
      saved = self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                               meta=ocp.args.JsonSave(meta)), force=force)
    except Exception as e:
      self._raise_if_storage(e, step)
      raise
    self._pending_step = step
    return saved

  def _check_writable(self, step: int) -> None:
    """orbax's background threads start waiting for the step's temporary folder before it is created; if
    creating it fails (a read-only filesystem), they wait out a 5-minute timeout at exit. A probe folder
    created (and removed) first fails fast instead, before orbax starts anything."""
    try:
      fileio.check_writable(self.directory)
    except OSError as e:
      self._raise_if_storage(e, step)
      raise

  def restore(self, abstract_state, step: int | None = None):
    """abstract_state: jax.ShapeDtypeStruct leaves that carry the target shardings. No fallback: see
    `restore_newest`."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise MissingInputError(f"no checkpoint in {self.directory}")
    restored = self._manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
    return restored["state"]

  def restore_newest(self, family: str, abstract_state, target, step: int | None = None, *,
                     warn: bool = True, advice: str | None = None):
    """(state, step, damaged) for the newest step that passes `check_compatible` and restores onto `target`
    (`abstract_state` with shardings). damaged = {step: reason} for the newer steps skipped; one warning names
    them. With `step` given, only that step is tried. CheckpointMismatchError is raised at once, never skipped.
    Raises FileNotFoundError if there is no step, CheckpointCorruptError if none restores; both errors end
    with `advice` if given (what the user should do), else with advice for a --workdir."""
    steps = sorted(self.all_steps(), reverse=True)
    if step is not None:
      if step not in steps:
        raise MissingInputError(f"no checkpoint of step {step} in {self.directory} (steps: {sorted(steps)})")
      steps = [step]
    if not steps:
      raise MissingInputError(f"no checkpoint in {self.directory}")
    damaged: dict[int, str] = {}
    for candidate in steps:
      try:
        self.check_compatible(family, abstract_state, candidate, advice)
        state = self.restore(target, candidate)
      except CheckpointMismatchError:
        raise
      except Exception as e:  # orbax/tensorstore raise KeyError, JSONDecodeError, ValueError, bare Exception
        damaged[candidate] = _first_line(e)
        continue
      if damaged and warn:
        log.warning("%s: skipped damaged checkpoint %s; restored step %d instead. The damaged folder is left "
                    "in place.", self.directory, _describe_damage(damaged), candidate)
      return state, candidate, damaged
    if step is not None:
      raise CheckpointCorruptError(f"the checkpoint of step {step} in {self.directory} is damaged "
                                   f"({damaged[step]}); other steps: {sorted(set(self.all_steps()) - {step})}")
    raise CheckpointCorruptError(
        f"no checkpoint in {self.directory} restores; each step is damaged: {_describe_damage(damaged)}. "
        + (advice or "Nothing was changed; move the folder away (or use another --workdir) to start afresh."))

  def wait(self) -> None:
    """Waits for the async save; raises CheckpointWriteError if it failed on a full or read-only disk."""
    try:
      self._manager.wait_until_finished()
    except Exception as e:
      self._raise_if_storage(e, self._pending_step)
      raise

  def committed_steps(self) -> list[int]:
    """Waits for the in-flight save, then the steps on disk. A failed save is logged, not raised: the caller
    (an interrupted run) reports what was kept and must not lose its own exception."""
    try:
      self.wait()
    except CheckpointWriteError as e:
      log.error("%s", e)
    self._manager.reload()
    return self.all_steps()

  def close(self) -> None:
    already_reported = self._failed
    try:
      self.wait()
    except CheckpointWriteError:
      self._close_manager()
      if not already_reported:
        raise
      return
    self._close_manager()

  def _close_manager(self) -> None:
    try:
      self._manager.close()
    except Exception as e:  # orbax raises a failed save again on close; it was reported by wait()
      if not (self._failed and storage_failure(e)):
        raise

  def _raise_if_storage(self, exc: Exception, step: int | None) -> None:
    """Turns a filesystem write failure into one CheckpointWriteError line."""
    reason = storage_failure(exc)
    if reason is None:
      return
    self._failed = True
    what = "could not write the checkpoint" + (f" of step {step}" if step is not None else " folder")
    kept = self.all_steps() if hasattr(self, "_manager") else []
    raise CheckpointWriteError(
        f"{what} in {self.directory}: {reason}. "
        + (f"The earlier checkpoints (steps {kept}) are kept." if kept else "No earlier checkpoint exists.")
    ) from None


def _check_object_store_client(directory: str) -> None:
  """orbax asks google-cloud-storage for a gs:// bucket's layout whenever it lists steps; without that package
  it fails deep inside a background thread. Say so up front instead."""
  if not directory.startswith("gs://"):
    return
  try:
    import google.cloud.storage  # noqa: F401
  except ImportError:
    raise UsageError(f"checkpoints in {directory} need the google-cloud-storage package (orbax uses it for gs:// "
                     "folders): pip install google-cloud-storage") from None


def _describe_damage(damaged: dict[int, str]) -> str:
  return "; ".join(f"step {s} ({why})" for s, why in sorted(damaged.items(), reverse=True))


def move_aside(directory: str, step: int) -> str:
  """Renames checkpoint folder `step` to damaged-<step>-<UTC time> beside it (orbax then no longer lists
  it). Returns the new path. Never deletes."""
  stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
  src = fileio.join(directory, str(step))
  dst = fileio.join(directory, f"damaged-{step}-{stamp}")
  fileio.rename(src, dst)
  return dst


def resume(directory: str, family: str, abstract_state, target):
  """For a training run: (state, step) of the newest step of `directory` that restores, or None if there is
  no checkpoint yet. Damaged steps newer than it are moved aside (one warning) so that the run can write
  those step numbers again. Raises CheckpointMismatchError / CheckpointCorruptError untouched."""
  if not fileio.isdir(directory):
    return None
  reader = Checkpointer(directory, read_only=True)
  try:
    if not reader.all_steps():
      return None
    # warn=False: the single warning below also says where the damaged folders went.
    state, step, damaged = reader.restore_newest(family, abstract_state, target, warn=False)
  finally:
    reader.close()
  if damaged:
    if distributed.is_writer():  # one host renames (shared storage); the others found the same damage
      moved = {s: move_aside(directory, s) for s in damaged}
      log.warning("%s: skipped damaged checkpoint %s; resuming from step %d. Moved the damaged folder(s) aside, "
                  "not deleted: %s", directory, _describe_damage(damaged), step,
                  ", ".join(os.path.basename(p) for p in moved.values()))
    distributed.barrier("decompjax-damaged-steps-moved")  # before any host opens the folder to write
  return state, step


def abstract_with_sharding(abstract_tree, sharding):
  """ShapeDtypeStructs with `sharding` attached: one jax.sharding.Sharding for all leaves (e.g. replicated), or a
  tree of them shaped like abstract_tree (per leaf: ZeRO-1's optimizer state). orbax reshards what it reads onto
  it, so a checkpoint written in one layout or on one mesh restores in another."""
  if isinstance(sharding, jax.sharding.Sharding):
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), abstract_tree)
  return jax.tree.map(lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh), abstract_tree, sharding)
