"""A complete toy model family: a linear autoencoder of sine windows (README "Adding a model family").

Register it and train it like any family:
  registry.register("toy", "toy_family:TOY")
  train.train_and_evaluate(config_utils.build_config("tests/toy_family.py", []), workdir)
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from configs.common import base_config
from decompjax import optim, steps
from decompjax.evaluation.report import Report
from decompjax.family import Family
from decompjax.input_pipeline import tf_on_cpu_only

LENGTH = 32  # samples per window


def get_config(arg=None):
  """The preset (a configs/<name>.py file has this shape): base_config() plus the family's own fields."""
  config = base_config()
  config.model.family = "toy"
  config.model.latents = 4  # the architecture, and every objective weight, live in config.model
  config.data.num_examples = 512
  config.train.batch_size = 32
  return config


class LinearAE(nn.Module):
  latents: int

  @nn.compact
  def __call__(self, x):
    z = nn.Dense(self.latents, name="encoder")(x)
    return nn.Dense(x.shape[-1], name="decoder")(z), z


def sines(n: int, seed: int) -> np.ndarray:
  """n windows of sin(2 pi f t + phase), frequency and phase drawn per window."""
  rng = np.random.default_rng(seed)
  freq, phase = rng.uniform(1, 4, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
  return np.sin(2 * np.pi * freq * np.arange(LENGTH) / LENGTH + phase).astype(np.float32)


def input_spec(config):  # one example batch from the config alone: restoring never reads data
  return {"x": jax.ShapeDtypeStruct((1, LENGTH), jnp.float32)}


def make_tx(config):
  return optim.make_optimizer(config.optim)


def init_variables(config, rng, example):  # -> (params, model_state)
  return LinearAE(config.model.latents).init(rng, example["x"])["params"], {}


def make_loss(config):
  def loss_fn(params, model_state, batch, rng):
    recon, _ = LinearAE(config.model.latents).apply({"params": params}, batch["x"])
    mse = jnp.mean((recon - batch["x"]) ** 2)
    return mse, steps.LossOut(terms={"mse": mse})
  return loss_fn


def make_train_step(config, tx=None):
  return steps.gradient_step(make_tx(config) if tx is None else tx, make_loss(config))


def make_dataset(config, split, *, process_index=0, process_count=1):
  x = sines(config.data.num_examples, seed={"train": 0, "validation": 1}.get(split, 2))
  return tf_on_cpu_only().data.Dataset.from_tensor_slices({"x": x}).shard(process_count, process_index)


def evaluate(config, state, workdir):  # returns the results; evaluation.report writes them
  x = sines(256, seed=2)
  recon, _ = LinearAE(config.model.latents).apply({"params": state.params}, x)
  return Report(metrics={"recon_mse": float(np.mean((np.asarray(recon) - x) ** 2))})


TOY = Family(name="toy", input_spec=input_spec, make_tx=make_tx, init_variables=init_variables,
             make_train_step=make_train_step, make_dataset=make_dataset, evaluate=evaluate,
             make_eval_step=lambda config: steps.loss_eval_step(make_loss(config)))
