"""Autodecompose networks (Flax Linen): voice encoder E_s, content encoder E_c and generator G; running them
(initial variables, per-frame embeddings in eval mode, pooling).

Everything is time-distributed over the 64 frames of a crop: inputs [B, T, 80], embeddings [B, T, emb] (per
frame, not one vector per crop), the generator sees concat(E_s, E_c) = [B, T, 2 emb] and outputs [B, T, 80].
Four architectures (specs/autodecompose.md §4, notebook `candidate_encoders` / `candidate_decoders`):

  arch   encoder (E_s and E_c)                         generator
  large  3x[conv + BNR] + 3x LSTM + Dense(emb)         2x[conv + BNR] + 2x LSTM + Dense(80)
  lstm   3x LSTM + Dense(emb)                          2x LSTM + Dense(80)
  conv   3x[conv + BNR] + Dense(emb)                   2x[conv + BNR] + Dense(80)
  dense  Dense + BNR + Dense(emb), per frame           Dense (linear) + Dense(80)

conv = 1-D convolution over time (kernel 5, 'same'); BNR = BatchNorm + ReLU with Keras' defaults (momentum .99,
eps 1e-3). With the paper widths (conv 512, LSTM 256 / 512, emb 128) 'large' has 15,612,240 trainable
parameters. BatchNorm normalises over batch and time; under a jit over a ('data',) mesh with the batch sharded,
those means are global-batch statistics, so a sharded step equals the single-device step.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from decompjax import precision
from decompjax.evaluation.batching import map_batches

ARCHS = ("large", "lstm", "conv", "dense")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  arch: str = "large"
  emb_dim: int = 128
  n_mels: int = 80
  kernel: int = 5
  enc_conv: int = 512
  enc_conv_layers: int = 3
  enc_lstm: int = 256
  enc_lstm_layers: int = 3
  enc_dense: int = 512
  dec_conv: int = 512
  dec_conv_layers: int = 2
  dec_lstm: int = 512
  dec_lstm_layers: int = 2
  dec_dense: int = 1024

  def __post_init__(self):
    if self.arch not in ARCHS:
      raise ValueError(f"model arch {self.arch!r} is not one of {ARCHS}")

  @classmethod
  def from_config(cls, model) -> "ModelSpec":
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: model[k] for k in model.keys() if k in names})


def _bnr(x, train: bool, dtype):
  # Keras' BatchNorm defaults; Flax computes the statistics in float32 whatever dtype
  return nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3, dtype=dtype)(x))


class ConvBNR(nn.Module):
  features: int
  kernel: int = 5
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool):
    return _bnr(nn.Conv(self.features, (self.kernel,), padding="SAME", dtype=self.dtype)(x), train, self.dtype)


class LSTMStack(nn.Module):
  """The cells compute in dtype; Flax keeps their carry (c, h) in the float32 parameter dtype."""
  features: int
  layers: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    for _ in range(self.layers):
      x = nn.RNN(nn.OptimizedLSTMCell(self.features, dtype=self.dtype))(x)
    return x


class Encoder(nn.Module):
  spec: ModelSpec
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    s, dt = self.spec, self.dtype
    if s.arch == "dense":
      x = _bnr(nn.Dense(s.enc_dense, dtype=dt)(x), train, dt)
    if s.arch in ("large", "conv"):
      for _ in range(s.enc_conv_layers):
        x = ConvBNR(s.enc_conv, s.kernel, dtype=dt)(x, train)
    if s.arch in ("large", "lstm"):
      x = LSTMStack(s.enc_lstm, s.enc_lstm_layers, dtype=dt)(x)
    return nn.Dense(s.emb_dim, dtype=dt)(x)  # linear embedding, per frame


class Generator(nn.Module):
  spec: ModelSpec
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z, train: bool = False):
    s, dt = self.spec, self.dtype
    if s.arch == "dense":
      z = nn.Dense(s.dec_dense, dtype=dt)(z)  # linear, no activation (as the original)
    if s.arch in ("large", "conv"):
      for _ in range(s.dec_conv_layers):
        z = ConvBNR(s.dec_conv, s.kernel, dtype=dt)(z, train)
    if s.arch in ("large", "lstm"):
      z = LSTMStack(s.dec_lstm, s.dec_lstm_layers, dtype=dt)(z)
    return nn.Dense(s.n_mels, dtype=dt)(z)


class Autodecompose(nn.Module):
  """d_hat = G(concat(E_s(a_s), E_c(a_c))). Layers compute in `dtype` (decompjax/precision.py); what leaves the
  model (reconstruction, embeddings) is float32."""
  spec: ModelSpec
  dtype: Any = jnp.float32

  def setup(self):
    self.voice_encoder = Encoder(self.spec, self.dtype)     # E_s ("p_encoder")
    self.content_encoder = Encoder(self.spec, self.dtype)   # E_c ("q_encoder")
    self.generator = Generator(self.spec, self.dtype)

  def __call__(self, a_s, a_c, train: bool = False):
    z = jnp.concatenate([self.voice_encoder(a_s, train), self.content_encoder(a_c, train)], axis=-1)
    return precision.to_float32(self.generator(z, train))

  def embed_voice(self, mel):
    return precision.to_float32(self.voice_encoder(mel, False))

  def embed_content(self, mel):
    return precision.to_float32(self.content_encoder(mel, False))


# ------------------------------------------------------------------------------------------- running the model
ENCODERS = {"voice": "embed_voice", "content": "embed_content"}


def make_model(config) -> Autodecompose:
  return Autodecompose(ModelSpec.from_config(config.model), precision.compute_dtype(config))


def init_variables(config, rng, example) -> tuple[dict, dict]:
  """-> (params, model_state): Flax variables for crops shaped like example['mel'] (its shape only);
  model_state holds the BatchNorm running statistics ({} for the LSTM arch)."""
  x = jnp.zeros((1,) + tuple(example["mel"].shape[1:]), jnp.float32)
  variables_ = make_model(config).init(rng, x, x, train=False)
  return variables_["params"], {k: v for k, v in variables_.items() if k != "params"}


def variables(state) -> dict:
  """Flax variables of a TrainState: params plus BatchNorm running statistics (model_state)."""
  return {"params": state.params, **state.model_state}


@functools.lru_cache(maxsize=8)
def _jitted(spec: ModelSpec, dtype, method: str):
  model = Autodecompose(spec, dtype)
  return jax.jit(lambda v, x: model.apply(v, x, method=getattr(Autodecompose, method)))


def encode(config, state, mels: np.ndarray, encoder: str = "voice", batch_size: int = 256) -> np.ndarray:
  """[N, 64, F] crops -> [N, 64, emb] per-frame embeddings from E_s ('voice') or E_c ('content'), running
  BatchNorm statistics (eval mode), in fixed-size batches (one compilation)."""
  if encoder not in ENCODERS:
    raise ValueError(f"encoder={encoder!r} is not one of {', '.join(ENCODERS)}")
  if len(mels) == 0:
    raise ValueError("no crops to embed")
  fn = _jitted(ModelSpec.from_config(config.model), precision.compute_dtype(config), ENCODERS[encoder])
  vs = variables(state)
  return map_batches(lambda chunk: fn(vs, chunk), np.asarray(mels, np.float32), batch_size)


def pool(emb: np.ndarray, mode: str = "mean") -> np.ndarray:
  """[N, T, D] -> [N, D'] crop vectors: 'mean' over the T frames (D' = D) or 'flatten' (D' = T*D, the
  notebook's t-SNE input)."""
  if mode == "mean":
    return emb.mean(axis=1)
  if mode == "flatten":
    return emb.reshape(len(emb), -1)
  raise ValueError(f"pool={mode!r} is not 'mean' or 'flatten'")
