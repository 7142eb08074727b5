"""ConVAE-BSS objectives (config.model.objective) + the KL of both branches, and the validation metrics.

Every objective is what makes the two branches identifiable (specs/convae_bss.md §3.1) except `compat`:

  supervised          L(|X| r_k, |S_k|): each branch's own linear-magnitude estimate against its source
                      (L1 or L2, config.model.recon). config.model.pit: permutation-invariant (the better of the
                      two orders per example), so branch 0 need not be the voice.
  mixture_consistent  the soft masks M_k = r_k^p / sum_j r_j^p sum to 1, so M_1|X| + M_2|X| = |X| exactly (linear
                      magnitudes, never dB); L(M_k |X|, |S_k|) when the batch has stems (+ PIT as above), plus
                      config.model.consistency_weight * L(|X| r_0 + |X| r_1, |X|): the raw branches also add up to
                      the mixture (the only term when there are no stems).
  mixit               mixture invariant training on mixtures of mixtures: examples 2i and 2i+1 of the batch are
                      summed into one MoM, the model separates it into 2 masks, and the loss is the best of the
                      2^2 = 4 assignments of the 2 masked estimates to the 2 mixtures, L(A_m |MoM|, |X_m|) with
                      A_m = the sum of the masks assigned to mixture m (an empty set = 0, both = 1). With only 2
                      outputs the best assignment gives one branch per mixture: MixIT then learns to split the two
                      mixtures apart, NOT voice from music (that needs >= 4 outputs); kept for completeness.
  compat              the report's loss: MSE between the averaged branch outputs and the mixture in dB (bels here,
                      dB/10): (dB|S_1| + dB|S_2|)/2 vs dB|X|. Unable to separate: r_0 = r_1 = 1 is a minimum, and
                      nothing ties a branch to a source (docs/convae_bss.md).

Magnitudes are divided by the mixture's (MoM's) mean magnitude per example first, so the losses do not depend on
the level. KL: sum over both branches' latent maps of KL(N(mu, exp(logvar)) || N(0, 1)), divided by the number of
spectrogram bins (a per-bin weight, like the mean reconstruction terms), times config.model.beta.
"""
from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp

from decompjax.errors import ConfigError
from decompjax.families.convae_bss import model as model_lib
from decompjax.losses.vae import gaussian_kl
from decompjax.metrics.si_sdr import si_sdr_jax

OBJECTIVES = ("supervised", "mixture_consistent", "mixit", "compat")
RECONS = ("l1", "l2")
_DB_FLOOR = 1e-5  # magnitude floor of the compat dB (the report's AmplitudeToDB amin=1e-10 on power)


# --- terms on arrays (tested directly) ------------------------------------------------------------------------

def elementwise(est, ref, kind: str):
  if kind == "l1":
    return jnp.abs(est - ref)
  if kind == "l2":
    return jnp.square(est - ref)
  raise ConfigError(f"config field 'model.recon' = {kind!r}: must be one of {', '.join(map(repr, RECONS))}")


def source_errors(est, ref, kind: str):
  """[..., F, T] x2 (broadcast) -> [...]: mean error per example and source."""
  return jnp.mean(elementwise(est, ref, kind), axis=(-2, -1))


def supervised_term(est, ref, kind: str, pit: bool):
  """[B, 2, F, T] estimates and references -> [B]: mean over sources; pit: the better of the two orders."""
  straight = jnp.mean(source_errors(est, ref, kind), axis=1)
  if not pit:
    return straight
  swapped = jnp.mean(source_errors(est, ref[:, ::-1], kind), axis=1)
  return jnp.minimum(straight, swapped)


# Each row: the mixture (0 or 1) that estimate k is assigned to; all 2^2 rows.
ASSIGNMENTS = jnp.array(list(itertools.product((0, 1), repeat=2)), jnp.float32)  # [4, 2]


def mixit_term(masks, mom_mag, mix_mags, kind: str):
  """masks [P, 2, F, T] on the MoM, mom_mag [P, F, T], mix_mags [P, 2, F, T] (the two mixtures) -> [P]:
  min over the 4 assignments of the mean over the 2 mixtures of L(A_m |MoM|, |X_m|)."""
  to1 = ASSIGNMENTS[:, None, :, None, None]                            # [4, 1, 2(k), 1, 1]
  a1 = jnp.sum(masks[None] * to1, axis=2)                              # [4, P, F, T]: masks sent to mixture 1
  a0 = jnp.sum(masks[None] * (1.0 - to1), axis=2)
  remix = jnp.stack([a0, a1], axis=2) * mom_mag[None, :, None]         # [4, P, 2, F, T]
  errs = jnp.mean(source_errors(remix, mix_mags[None], kind), axis=-1)  # [4, P]
  return jnp.min(errs, axis=0)


def bels(mag):
  return jnp.log10(jnp.maximum(mag, _DB_FLOOR)) * 2.0  # 20 log10 |.| / 10


def compat_term(branch_mags, mixture_mag):
  """The report's averaged-dB reconstruction: [B, 2, F, T], [B, F, T] -> [B] MSE in bels."""
  recons = jnp.mean(bels(branch_mags), axis=1)
  return jnp.mean(jnp.square(recons - bels(mixture_mag)), axis=(-2, -1))


def kl_term(latents, num_bins: int):
  """(mu_0, logvar_0, mu_1, logvar_1) [B, h, w, c] -> [B]: both branches' KL per spectrogram bin."""
  mu0, lv0, mu1, lv1 = (v.reshape(v.shape[0], -1) for v in latents)
  return (gaussian_kl(mu0, lv0) + gaussian_kl(mu1, lv1)) / num_bins


# --- the objective -------------------------------------------------------------------------------------------

def has_stems(batch) -> bool:
  return "voice" in batch and "music" in batch


def check_objective(config) -> str:
  objective = config.model.objective
  if objective not in OBJECTIVES:
    raise ConfigError(f"config field 'model.objective' = {objective!r}: must be one of "
                      f"{', '.join(map(repr, OBJECTIVES))}")
  return objective


def _scale(mag):
  """Per-example mean magnitude (data, no gradient) shaped to divide [B, F, T]."""
  return jax.lax.stop_gradient(jnp.mean(mag, axis=(-2, -1), keepdims=True) + 1e-8)


def objective(config, params, batch, rng=None):
  """-> (loss, terms). rng=None: z = mu (validation); else the reparameterised sample of both branches."""
  objective_name = check_objective(config)
  m = config.model
  if objective_name == "supervised" and not has_stems(batch):
    _stems(config, batch, None)  # raises before any work
  if objective_name == "mixit" and batch["mixture"].shape[0] % 2:
    raise ConfigError(f"objective 'mixit' pairs the examples of a batch: train.batch_size must be even, "
                      f"got a batch of {batch['mixture'].shape[0]}")
  mix_spec = model_lib.complex_stft(config, batch["mixture"])
  mix_mag = jnp.abs(mix_spec)
  terms = {}
  if objective_name == "mixit":
    pairs = batch["mixture"].reshape(-1, 2, batch["mixture"].shape[-1])
    mom_mag = jnp.abs(model_lib.complex_stft(config, pairs.sum(axis=1)))
    r, latents = model_lib.forward(config, params, mom_mag, rng)
    s = _scale(mom_mag)
    masks = model_lib.soft_masks(r, m.mask_power)
    mixes = mix_mag.reshape(-1, 2, *mix_mag.shape[1:]) / s[:, None]
    recon = mixit_term(masks, mom_mag / s, mixes, m.recon)
  else:
    r, latents = model_lib.forward(config, params, mix_mag, rng)
    s = _scale(mix_mag)
    x = mix_mag / s
    branch = r * x[:, None]                                            # raw |S_k| estimates, normalised
    if objective_name == "compat":
      recon = compat_term(branch * s[:, None], mix_mag)
    elif objective_name == "supervised":
      recon = supervised_term(branch, _stems(config, batch, s), m.recon, m.pit)
    else:  # mixture_consistent
      consistency = jnp.mean(elementwise(branch.sum(axis=1), x, m.recon), axis=(-2, -1))
      terms["consistency"] = jnp.mean(consistency)
      recon = m.consistency_weight * consistency
      if has_stems(batch):
        est = model_lib.soft_masks(r, m.mask_power) * x[:, None]
        target = supervised_term(est, _stems(config, batch, s), m.recon, m.pit)
        terms["target"] = jnp.mean(target)
        recon = recon + target
      elif m.consistency_weight == 0:
        raise ConfigError("objective 'mixture_consistent' without voice/music stems in the batch has only its "
                          "consistency term: set config.model.consistency_weight > 0")
  kl = kl_term(latents, mix_mag.shape[-2] * mix_mag.shape[-1])
  terms.update(recon=jnp.mean(recon), kl=jnp.mean(kl))
  return jnp.mean(recon) + m.beta * jnp.mean(kl), terms


def _stems(config, batch, s):
  if not has_stems(batch):
    raise ConfigError(f"objective {config.model.objective!r} needs 'voice' and 'music' stems in the batch "
                      f"(got keys {sorted(batch)}); use objective 'mixit' or 'compat' for mixtures alone")
  refs = jnp.stack([batch["voice"], batch["music"]], axis=1)          # [B, 2, L]
  return jnp.abs(model_lib.complex_stft(config, refs)) / s[:, None]


# --- validation metrics --------------------------------------------------------------------------------------

def separation_metrics(config, params, batch):
  """SI-SDR of the separated waveforms (z = mu) against the stems, in the model's order (0 = voice) and
  permutation-matched (per example, the better order), and its improvement over the mixture as the estimate."""
  est = model_lib.separate_waveforms(config, params, {}, batch["mixture"])   # [B, 2, L]
  refs = jnp.stack([batch["voice"], batch["music"]], axis=1)
  straight = jnp.mean(si_sdr_jax(refs, est), axis=1)
  swapped = jnp.mean(si_sdr_jax(refs, est[:, ::-1]), axis=1)
  baseline = jnp.mean(si_sdr_jax(refs, jnp.broadcast_to(batch["mixture"][:, None], refs.shape)), axis=1)
  return {"si_sdr": jnp.mean(straight), "si_sdr_pm": jnp.mean(jnp.maximum(straight, swapped)),
          "si_sdri": jnp.mean(straight - baseline)}
