"""CONVAE_BSS: the two-branch conv VAE that separates voice from music (issue 12; specs/convae_bss.md).

One optimiser, no mutable model state. The train step differentiates `loss.objective` (config.model.objective)
with a reparameterised latent sample; the validation step (train.eval_every) reports the same loss at z = mu and,
when the batch has stems, the SI-SDR of the separated waveforms (si_sdr in the model's order, si_sdr_pm
permutation-matched, si_sdri over the mixture), so `train.keep_best_by` can keep the best by either.
"""
from __future__ import annotations

from decompjax import steps
from decompjax.families.convae_bss import data, evaluate, loss, model
from decompjax.family import Family
from decompjax.optim import make_optimizer


def make_tx(config):
  return make_optimizer(config.optim)


def _loss_fn(config):
  def loss_fn(params, model_state, batch, rng):
    del model_state  # none
    value, terms = loss.objective(config, params, batch, rng)
    return value, steps.LossOut(terms)
  return loss_fn


def make_train_step(config, tx=None):
  loss.check_objective(config)
  tx = make_tx(config) if tx is None else tx
  return steps.gradient_step(tx, _loss_fn(config))


def make_eval_step(config):
  """eval_step(state, batch, rng) -> {'loss', its terms, and 'si_sdr', 'si_sdr_pm', 'si_sdri' with stems}."""
  loss.check_objective(config)

  def eval_step(state, batch, rng):
    del rng  # z = mu: the validation numbers do not depend on a sample
    value, terms = loss.objective(config, state.params, batch, None)
    out = {"loss": value, **terms}
    if loss.has_stems(batch):
      out.update(loss.separation_metrics(config, state.params, batch))
    return out

  return eval_step


CONVAE_BSS = Family(name="convae_bss", input_spec=data.input_spec, make_tx=make_tx,
                    init_variables=model.init_variables, make_train_step=make_train_step,
                    make_dataset=data.make_dataset, evaluate=evaluate.evaluate, make_eval_step=make_eval_step,
                    prepare_data=data.prepare_data, latents=evaluate.latents)
