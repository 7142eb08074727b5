"""Running a trained Autodecompose model on crops: embeddings (E_s / E_c), reconstructions, pooling."""
from __future__ import annotations

import functools

import jax
import numpy as np

from decompjax.autodecompose.models import Autodecompose, ModelSpec
from decompjax.evaluation.batching import map_batches

ENCODERS = {"voice": "embed_voice", "content": "embed_content"}


def make_model(config) -> Autodecompose:
  return Autodecompose(ModelSpec.from_config(config.model))


def variables(state) -> dict:
  """Flax variables of a TrainState: params plus BatchNorm running statistics (model_state)."""
  return {"params": state.params, **state.model_state}


@functools.lru_cache(maxsize=8)
def _jitted(spec: ModelSpec, method: str):
  model = Autodecompose(spec)
  return jax.jit(lambda v, x: model.apply(v, x, method=getattr(Autodecompose, method)))


def _batched(fn, variables_, mels: np.ndarray, batch_size: int) -> np.ndarray:
  """fn(variables_, batch) over every crop in fixed-size batches (one compilation)."""
  if len(mels) == 0:
    raise ValueError("no crops to embed")
  return map_batches(lambda chunk: fn(variables_, chunk), mels, batch_size)


def encode(config, state, mels: np.ndarray, encoder: str = "voice", batch_size: int = 256) -> np.ndarray:
  """[N, 64, F] crops -> [N, 64, emb] per-frame embeddings from E_s ('voice') or E_c ('content'), running
  BatchNorm statistics (eval mode)."""
  if encoder not in ENCODERS:
    raise ValueError(f"encoder={encoder!r} is not one of {', '.join(ENCODERS)}")
  fn = _jitted(ModelSpec.from_config(config.model), ENCODERS[encoder])
  return _batched(fn, variables(state), np.asarray(mels, np.float32), batch_size)


def pool(emb: np.ndarray, mode: str = "mean") -> np.ndarray:
  """[N, T, D] -> [N, D'] crop vectors: 'mean' over the T frames (D' = D) or 'flatten' (D' = T*D, the
  notebook's t-SNE input)."""
  if mode == "mean":
    return emb.mean(axis=1)
  if mode == "flatten":
    return emb.reshape(len(emb), -1)
  raise ValueError(f"pool={mode!r} is not 'mean' or 'flatten'")


def load_trained(workdir: str, step: int | None = None, overrides=()):
  """(config, state) of a trained Autodecompose workdir, restored on one device. Needs no dataset: the state
  layout comes from the saved config alone (a corpus is not re-read just to embed a file)."""
  import os

  from decompjax import checkpointing, config_utils, cpu_devices, sharding
  from decompjax.train import checkpoint_dir
  config = config_utils.load_saved_config(os.path.join(workdir, "config.json"))
  for key, value in overrides:
    config_utils.apply_override(config, key, value)
  cpu_devices.configure_for(config)  # before anything starts JAX
  if config.model.family != "autodecompose":
    raise ValueError(f"{workdir} holds a {config.model.family!r} run, not an Autodecompose one")
  from decompjax.families import autodecompose as family
  example = {"mel": np.zeros((1, 64, config.model.n_mels), np.float32), "speaker": np.zeros((1,), np.int32)}
  abstract = jax.eval_shape(lambda r: family.init_state(config, r, example), jax.random.key(0))
  ckpt = checkpointing.Checkpointer(checkpoint_dir(workdir), keep=config.train.keep_ckpts)
  try:
    if ckpt.latest_step() is None:
      raise FileNotFoundError(f"no checkpoint in {checkpoint_dir(workdir)}: train first")
    ckpt.check_compatible(family.FAMILY.name, abstract, step)
    mesh = sharding.make_mesh(1)
    state = ckpt.restore(checkpointing.abstract_with_sharding(abstract, sharding.replicated(mesh)), step)
  finally:
    ckpt.close()
  return config, state
