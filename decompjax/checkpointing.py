"""orbax CheckpointManager wrapper: async saves, keep-last-N, sharded restore onto any mesh, and a
compatibility check so a workdir of another model is refused before anything in it is touched.

Each step directory holds two items: 'state' (the TrainState pytree) and 'meta' (JSON: family name and the
shape/dtype of every state leaf). Restores always use an abstract target carrying the *current* shardings,
so a checkpoint written on 8 devices restores onto 1 (and the other way round).
"""
from __future__ import annotations

import os

import jax
import orbax.checkpoint as ocp


class CheckpointMismatchError(ValueError):
  """The workdir holds a checkpoint of a different model (family or parameter shapes)."""


def describe_tree(tree) -> dict[str, str]:
  """{'path/to/leaf': 'float32[3,3,1,16]'} for every array leaf (works on abstract trees too)."""
  out = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    name = jax.tree_util.keystr(path)
    out[name] = f"{jax.numpy.dtype(leaf.dtype).name}{list(leaf.shape)}"
  return out


class Checkpointer:
  def __init__(self, directory: str, *, keep: int = 3, async_save: bool = True):
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                           enable_async_checkpointing=async_save, cleanup_tmp_directories=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "meta"))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def read_meta(self, step: int | None = None) -> dict:
    step = self.latest_step() if step is None else step
    restored = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
    return dict(restored["meta"])

  def check_compatible(self, family: str, abstract_state, step: int | None = None) -> None:
    """Raises CheckpointMismatchError if the checkpoint was written by another family or state layout."""
    meta = self.read_meta(step)
    where = f"{self.directory} (step {step if step is not None else self.latest_step()})"
    if meta.get("family") != family:
      raise CheckpointMismatchError(
          f"{where} holds a checkpoint of model family {meta.get('family')!r}, but this run is {family!r}. "
          "Use another --workdir; nothing was changed.")
    saved, wanted = meta.get("tree", {}), describe_tree(abstract_state)
    if saved != wanted:
      diffs = [f"{k}: checkpoint {saved.get(k, 'missing')} vs model {wanted.get(k, 'missing')}"
               for k in sorted(set(saved) | set(wanted)) if saved.get(k) != wanted.get(k)]
      raise CheckpointMismatchError(
          f"{where} holds a checkpoint whose shapes differ from this config ({len(diffs)} leaves), e.g. "
          + "; ".join(diffs[:3]) + ". Use another --workdir; nothing was changed.")

  def save(self, step: int, state, family: str, *, force: bool = True) -> bool:
    meta = {"family": family, "step": int(step), "tree": describe_tree(state)}
    return self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                            meta=ocp.args.JsonSave(meta)), force=force)

  def restore(self, abstract_state, step: int | None = None):
    """abstract_state: jax.ShapeDtypeStruct leaves that carry the target shardings."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {self.directory}")
    restored = self._manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
    return restored["state"]

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()


def abstract_with_sharding(abstract_tree, sharding):
  """ShapeDtypeStructs with `sharding` attached (one sharding for all leaves, e.g. replicated)."""
  return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), abstract_tree)
