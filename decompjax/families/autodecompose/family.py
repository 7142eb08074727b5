"""The Autodecompose family: E_s(A_s(base)), E_c(A_c(base)) -> G -> MSE against the base (a deterministic AE).

BatchNorm (conv archs) keeps its running statistics in `TrainState.model_state['batch_stats']`, updated every
train step; evaluation and embeddings use the running statistics. Under the trainer's jit over a ('data',) mesh
the BatchNorm batch means are global-batch means, so the step is the same on 1 or N devices.
"""
from __future__ import annotations

from decompjax import steps
from decompjax.family import Family
from decompjax.families.autodecompose import data, evaluate, loss, model
from decompjax.optim import make_optimizer


def make_tx(config):
  return make_optimizer(config.optim)


def make_train_step(config, tx=None):
  tx = make_tx(config) if tx is None else tx
  net = model.make_model(config)
  return steps.gradient_step(
      tx, lambda p, ms, batch, rng: loss.reconstruction_loss(config, net, p, ms, batch, rng, train=True))


AUTODECOMPOSE = Family(name="autodecompose", input_spec=data.input_spec, make_tx=make_tx,
                       init_variables=model.init_variables, make_train_step=make_train_step,
                       make_dataset=data.make_dataset, evaluate=evaluate.evaluate,
                       make_eval_step=loss.make_eval_step, prepare_data=data.prepare_data,
                       latents=evaluate.latents)
