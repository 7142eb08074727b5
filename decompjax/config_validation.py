"""Checks a built config against per-field rules, in one place, before anything runs.

Called by `config_utils.build_config` and `config_utils.load_saved_config` (so the CLI refuses a bad value before
JAX starts or a workdir exists) and by the trainer for configs built in Python. A rule applies where its field
exists; rules that hold for one family only are keyed by `model.family` (an out-of-tree family gets the common
rules). The first field that breaks its rule is one line: "config field 'train.steps' = -5: must be >= 1".

Import-light on purpose (no JAX): the choice lists below repeat the lists of the code that reads each field;
tests/test_config_validation.py checks that they agree.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from decompjax.errors import ConfigError

# A check takes the value and returns None when it is fine, else what it must be ("must be >= 1").
Check = Callable[[Any], "str | None"]


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def integer(low: int) -> Check:
  def check(v):
    if not _is_int(v):
      return f"must be an integer >= {low}"
    return None if v >= low else f"must be >= {low}"
  return check


def number(low: float, *, strict: bool = False) -> Check:
  """A finite number >= low (> low if strict)."""
  def check(v):
    if _is_number(v) and (v > low if strict else v >= low):
      return None
    return f"must be a finite number {'>' if strict else '>='} {low:g}"
  return check


def interval(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Check:
  def check(v):
    if _is_number(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high):
      return None
    return f"must be {'>' if low_open else '>='} {low:g} and {'<' if high_open else '<='} {high:g}"
  return check


def one_of(choices: tuple[str, ...]) -> Check:
  return lambda v: None if v in choices else f"must be one of {', '.join(repr(c) for c in choices)}"


def positive_numbers(v) -> str | None:
  ok = isinstance(v, (tuple, list)) and len(v) > 0 and all(_is_number(x) and x > 0 for x in v)
  return None if ok else "must be a non-empty list of numbers > 0"


def family_name(v) -> str | None:
  return None if isinstance(v, str) and v else "must name a model family (decompjax.registry)"


# The values the code accepts, where it reads the field (kept in step by tests/test_config_validation.py).
CHOICES = {
    "optim.name": ("adam", "adamw", "sgd"),                     # decompjax/optim.py make_optimizer
    "model.reduction": ("per_sample", "syntone"),               # decompjax/losses/vae.py REDUCTIONS
    "model.tc_estimator": ("mss", "mss_paper", "mws"),          # decompjax/losses/tc.py ESTIMATORS
    "audio.frontend": ("syntone", "log_mel"),                   # decompjax/audio/mel.py FRONTEND_MODES
    "eval.protocol": ("corrected", "syntone_compat", "both"),   # decompjax/families/syntone_vae/evaluate.py PROTOCOLS
    "model.window": ("rect", "hann"),                           # decompjax/audio/stft.py window_array
    "model.arch": ("large", "lstm", "conv", "dense"),           # decompjax/families/autodecompose/model.py ARCHS
    "features.preset": ("notebook", "paper"),                   # decompjax/audio/speech_features.py PRESETS
    "augment.preset": ("notebook", "paper"),                    # decompjax/families/autodecompose/augment.py PRESETS
    "probe.pool": ("mean", "flatten"),                          # decompjax/families/autodecompose/model.py pool
    "data.nan_policy": ("error", "interpolate"),               # decompjax/data/ucr.py NAN_POLICIES
    "model.objective": ("supervised", "mixture_consistent", "mixit", "compat"),  # families/convae_bss/loss.py
    "model.recon": ("l1", "l2"),                                # decompjax/families/convae_bss/loss.py RECONS
    "audio.window": ("rect", "hann"),                           # decompjax/audio/stft.py window_array
    "train.dtype": ("float32", "bfloat16"),                     # decompjax/precision.py DTYPES
}
_BETA = interval(0, 1, high_open=True)  # Adam's b1/b2, SGD momentum

COMMON: dict[str, Check] = {
    "seed": integer(0),
    "model.family": family_name,
    "data.shuffle_buffer": integer(0),
    "train.steps": integer(1),
    "train.batch_size": integer(1),
    "train.log_every": integer(1),
    "train.ckpt_every": integer(1),
    "train.keep_ckpts": integer(1),
    "train.eval_every": integer(0),     # 0 = no validation pass
    "train.eval_batches": integer(1),
    "train.dtype": one_of(CHOICES["train.dtype"]),
    "optim.name": one_of(CHOICES["optim.name"]),
    "optim.lr": number(0),             # 0 freezes the parameters (used to test a fine-tune start)
    "optim.b1": _BETA,
    "optim.b2": _BETA,
    "optim.eps": number(0),
    "optim.weight_decay": number(0),
    "optim.momentum": _BETA,
    "optim.grad_clip": number(0),       # 0 = off
    "optim.warmup_steps": integer(0),
    "optim.decay_steps": integer(0),    # 0 = no decay
    "mesh.num_devices": integer(0),     # 0 = every visible device
    "mesh.cpu_devices": integer(0),     # 0 = auto
    "mesh.model_parallel": integer(1),  # 1 = a 1-D ('data',) mesh
    "mesh.model_parallel_min_size": integer(0),
    "eval.num_examples": integer(1),
    "eval.batch_size": integer(1),
}

SYNTONE: dict[str, Check] = {
    "model.latent_dim": integer(1),
    "model.reduction": one_of(CHOICES["model.reduction"]),
    "data.grid.sample_rate": integer(1),
    "data.grid.freq_start": number(0, strict=True),
    "data.grid.freq_end": number(0),    # 0 = Nyquist
    "data.grid.num_freqs": integer(1),
    "data.grid.amp_start": number(0, strict=True),
    "data.grid.amp_end": number(0, strict=True),
    "data.grid.num_amps": integer(1),
    "data.grid.seed": integer(0),
    "audio.n_fft": integer(1),
    "audio.hop": integer(1),
    "audio.n_mels": integer(1),
    "audio.fmin": number(0),
    "audio.fmax": number(0),            # 0 = Nyquist
    "audio.frontend": one_of(CHOICES["audio.frontend"]),
    "eval.protocol": one_of(CHOICES["eval.protocol"]),
    "eval.traversal_range": number(0, strict=True),
    "eval.num_audio": integer(0),
    "eval.griffin_lim_iters": integer(1),
    "eval.metric_train_size": integer(1),
}

# decompjax/families/vqvae/augment.py ORDER: the Barlow views' augmentations, named in a comma-separated list.
VQ_AUGMENTATIONS = ("AmpR", "flip", "slope", "STFT", "jitter", "slice")


def augmentation_names(v) -> str | None:
  names = [n.strip() for n in v.split(",") if n.strip()] if isinstance(v, str) else None
  if names is not None and all(n in VQ_AUGMENTATIONS for n in names):
    return None
  return f"must be a comma-separated list of {', '.join(VQ_AUGMENTATIONS)} (or empty)"


VQVAE: dict[str, Check] = {
    "model.n_fft": integer(4),          # log2(n_fft) - 1 > 0 sets the downsampling; default hop n_fft // 4 >= 1
    "model.hop": integer(0),            # 0 = n_fft // 4
    "model.window": one_of(CHOICES["model.window"]),
    "model.dim": integer(1),
    "model.n_resnet_blocks": integer(0),
    "model.downsampled_width": integer(1),
    "model.codebook_size": integer(1),
    "model.decay": interval(0, 1),
    "model.commitment": number(0),
    "model.kmeans_iters": integer(0),
    "model.dead_code_threshold": number(0),
    "data.nan_policy": one_of(CHOICES["data.nan_policy"]),
    "data.length": integer(0),          # 0 = from the data
    "data.channels": integer(0),        # 0 = from the data
    "eval.kmeans_repeats": integer(1),
    "eval.num_recon_plots": integer(0),
}

AUTODECOMPOSE: dict[str, Check] = {
    "model.arch": one_of(CHOICES["model.arch"]),
    **{f"model.{k}": integer(1) for k in ("emb_dim", "n_mels", "kernel", "enc_conv", "enc_lstm", "enc_dense",
                                          "dec_conv", "dec_lstm", "dec_dense")},
    **{f"model.{k}": integer(0) for k in ("enc_conv_layers", "enc_lstm_layers", "dec_conv_layers",
                                          "dec_lstm_layers")},
    "features.preset": one_of(CHOICES["features.preset"]),
    "augment.preset": one_of(CHOICES["augment.preset"]),
    "data.simvowels.num_train": integer(1),
    "data.simvowels.num_validation": integer(1),
    "data.simvowels.num_test": integer(1),
    "data.simvowels.seed": integer(0),
    "data.corpus.holdout_every": integer(1),
    "data.corpus.max_files_per_speaker": integer(0),  # 0 = all
    "probe.seconds": positive_numbers,
    "probe.seeds": integer(1),
    "probe.pool": one_of(CHOICES["probe.pool"]),
    "probe.test_fraction": interval(0, 1, low_open=True, high_open=True),
    "probe.tsne_points": integer(0),   # 0 = no t-SNE figure
}


def positive_integers(v) -> str | None:
  ok = isinstance(v, (tuple, list)) and len(v) > 0 and all(_is_int(x) and x > 0 for x in v)
  return None if ok else "must be a non-empty list of integers > 0"


CONVAE_BSS: dict[str, Check] = {
    "model.objective": one_of(CHOICES["model.objective"]),
    "model.recon": one_of(CHOICES["model.recon"]),
    "model.channels": positive_integers,
    "model.latent_channels": integer(1),
    "model.mask_power": number(0, strict=True),
    "model.beta": number(0),
    "model.consistency_weight": number(0),
    "audio.sample_rate": integer(1),
    "audio.n_fft": integer(2),
    "audio.hop": integer(1),
    "audio.window": one_of(CHOICES["audio.window"]),
    "data.seconds": number(0, strict=True),
    "data.synmix.num_train": integer(1),
    "data.synmix.num_validation": integer(1),
    "data.synmix.num_test": integer(1),
    "data.synmix.seed": integer(0),
    "data.synmix.min_seconds": number(0, strict=True),
    "data.synmix.max_seconds": number(0, strict=True),
    "eval.num_tracks": integer(1),
    "eval.num_wavs": integer(0),
    "eval.filter_length": integer(1),
    "eval.irm_power": number(0, strict=True),
    "eval.bss_window_seconds": number(0),
    "eval.bss_hop_seconds": number(0, strict=True),
}

# DecVAE (decompjax/families/decvae/): choices kept in step with model.NORMS / BRANCHES, loss.JS_VARIANTS,
# family.SCHEDULES by tests/test_decvae_model.py.
DECVAE_CHOICES = {
    "model.branches": ("dual", "z", "s"),
    "model.norm": ("layer", "batch_compat"),
    "model.js_variant": ("sum_clamp", "mean"),
    "optim.schedule": ("constant", "constant_with_warmup", "linear"),
    "data.input_type": ("waveform", "mel"),
    "decomp.method": ("fd", "ewt", "vmd", "emd"),
}


def _decvae_bool(v) -> str | None:
  return None if isinstance(v, bool) else "must be true or false"


DECVAE: dict[str, Check] = {
    **{f"model.{k}": positive_integers for k in ("conv_dim_z", "conv_dim_s", "kernels", "strides")},
    **{f"model.{k}": integer(1) for k in ("hidden_size", "proj_intermediate_dim", "proj_dim", "z_dim", "s_dim",
                                          "attention_heads_s", "max_frames")},
    **{f"model.{k}": _decvae_bool for k in ("project_ocs", "train_x_head", "mask_missing_components",
                                            "grad_scale_1_over_w")},
    **{k: one_of(v) for k, v in DECVAE_CHOICES.items()},
    **{f"model.weights.{k}": number(0) for k in ("w_pos", "w_pos1", "w_pos2", "w_pos3plus", "w_neg")},
    **{f"model.{k}": number(0) for k in ("beta_z", "beta_s", "gamma_z", "gamma_s")},
    "decomp.noc": integer(1),
    "decomp.noc_seq": integer(1),
    "data.seconds": number(0, strict=True),
    "data.sample_rate": integer(1),
    # The S branch's optimiser: the rules of config.optim, for config.optim.s.
    **{"optim.s." + k[len("optim."):]: check for k, check in COMMON.items() if k.startswith("optim.")},
    "optim.s.schedule": one_of(DECVAE_CHOICES["optim.schedule"]),
}


def _decvae_cross_field(config):
  """DecVAE's rules between fields: the conv stack must end at one position per 400-sample frame, the heads
  divide the projection, and the loss cannot sample more frames than a clip has."""
  m, d = config.model, config.data
  kernels, strides = tuple(m.kernels), tuple(m.strides)
  for name in ("conv_dim_z", "conv_dim_s", "strides"):
    if len(m[name]) != len(kernels):
      return (f"model.{name}", m[name], f"must have one entry per conv layer ({len(kernels)} kernels)")
  frame, hop = int(d.get("frame", 400)), int(d.get("hop", 320))
  length = frame
  for k, s in zip(kernels, strides):
    length = (length - k) // s + 1 if length >= k else 0
  if length != 1:
    return ("model.kernels", kernels, f"with model.strides {strides} the conv stack must turn a {frame}-sample "
            f"frame into exactly 1 position (gives {length})")
  if m.branches in ("dual", "s") and not config.decomp.seq_level:
    return ("model.branches", m.branches, "needs decomp.seq_level = true (the S branch reads the sequence "
            "components); use model.branches='z' without them")
  if m.proj_dim % m.attention_heads_s:
    return ("model.attention_heads_s", m.attention_heads_s, f"must divide model.proj_dim ({m.proj_dim})")
  frames = 1 + (int(round(d.seconds * d.sample_rate)) - frame) // hop
  if frames < 1:
    return ("data.seconds", d.seconds, f"must give at least one {frame}-sample frame")
  if m.max_frames > frames:
    return ("model.max_frames", m.max_frames, f"must be <= the frames of a clip ({frames} for "
            f"data.seconds={d.seconds})")
  return None


FAMILY_RULES: dict[str, dict[str, Check]] = {
    "beta_vae": {**SYNTONE, "model.beta": number(0)},
    "beta_tcvae": {**SYNTONE, "model.alpha": number(0), "model.beta": number(0), "model.gamma": number(0),
                   "model.tc_estimator": one_of(CHOICES["model.tc_estimator"]), "model.tc_dataset_size": integer(0)},
    "factor_vae": {**SYNTONE, "model.kl_weight": number(0), "model.gamma": number(0),
                   "model.disc_hidden": integer(1), "model.disc_layers": integer(1),
                   # The discriminator's optimiser: the rules of config.optim, for config.optim.disc.
                   **{"optim.disc." + k[len("optim."):]: check for k, check in COMMON.items()
                      if k.startswith("optim.")},
                   "optim.disc.lr": number(0, strict=True)},
    "vqvae": VQVAE,
    "barlow_vqvae": {**VQVAE, "model.gamma": number(0), "model.bt_lambda": number(0),
                     "model.projector_width": integer(1), "augment.names": augmentation_names,
                     "augment.amp_rate": number(0), "augment.flip_p": interval(0, 1),
                     "augment.slope_rate": number(0), "augment.phase_max_change": number(0),
                     "augment.jitter_std": number(0), "augment.slice_rate": interval(0, 1, high_open=True),
                     "augment.slice_p": interval(0, 1)},
    "autodecompose": AUTODECOMPOSE,
    "decvae": DECVAE,
    "decvae_fc_vae": {"model.hidden": positive_integers, "model.z_dim": integer(1), "model.beta": number(0),
                      "decomp.noc": integer(1), "data.seconds": number(0, strict=True),
                      "data.input_type": one_of(DECVAE_CHOICES["data.input_type"])},
    "convae_bss": CONVAE_BSS,
}

_MISSING = object()


def _get(config, path: str):
  node = config
  for key in path.split("."):
    if not hasattr(node, "keys") or key not in node:
      return _MISSING
    node = node[key]
  return node


def _cross_field(config, family: str):
  """-> (field, value, what it must be) for the first rule that involves two fields, else None."""
  # Best-by-validation and early stopping (decompjax/train.py): they watch a metric of the validation pass, so
  # they need one (train.eval_every > 0; the trainer also refuses a family without make_eval_step).
  best_by, mode = _get(config, "train.keep_best_by"), _get(config, "train.keep_best_mode")
  patience, eval_every = _get(config, "train.early_stop_patience"), _get(config, "train.eval_every")
  best_by = "" if best_by is _MISSING else best_by
  if not isinstance(best_by, str):
    return ("train.keep_best_by", best_by, "must be a validation metric name such as 'val/loss', or '' for off")
  if mode is not _MISSING and mode not in ("min", "max"):
    return ("train.keep_best_mode", mode, "must be one of 'min', 'max'")
  if patience is not _MISSING and not (_is_int(patience) and patience >= 0):
    return ("train.early_stop_patience", patience, "must be an integer >= 0 (0 = off)")
  if _is_int(patience) and patience > 0 and not best_by:
    return ("train.early_stop_patience", patience, "needs train.keep_best_by (the validation metric it watches)")
  if best_by and _is_int(eval_every) and eval_every == 0:
    return ("train.keep_best_by", best_by, "needs train.eval_every > 0 (the validation pass it reads)")
  warmup, decay = _get(config, "optim.warmup_steps"), _get(config, "optim.decay_steps")
  if _is_int(warmup) and _is_int(decay) and decay > 0 and decay <= max(warmup, 1):
    return ("optim.decay_steps", decay, f"must be > optim.warmup_steps ({warmup}) and > 1, or 0 for no decay "
            "(the cosine schedule's length includes the warmup)")
  batch = _get(config, "train.batch_size")
  broken = _mesh_fields(config, batch)
  if broken:
    return broken
  if family == "factor_vae" and _is_int(batch) and batch % 2:
    return ("train.batch_size", batch, "must be even for factor_vae (each batch is split into a VAE half and a "
            "discriminator half)")
  n_fft, hop = _get(config, "model.n_fft"), _get(config, "model.hop")
  if family in ("vqvae", "barlow_vqvae") and _is_int(n_fft) and _is_int(hop) and (hop or n_fft // 4) > 0 \
      and n_fft % (hop or n_fft // 4):
    return ("model.hop", hop, f"must divide model.n_fft ({n_fft}); 0 = n_fft // 4 = {n_fft // 4}")
  if family == "convae_bss":
    a_fft, a_hop = _get(config, "audio.n_fft"), _get(config, "audio.hop")
    if _is_int(a_fft) and _is_int(a_hop) and a_hop > 0 and a_fft % a_hop:
      return ("audio.hop", a_hop, f"must divide audio.n_fft ({a_fft})")
    if _get(config, "model.objective") == "mixit" and _is_int(batch) and batch % 2:
      return ("train.batch_size", batch, "must be even for objective 'mixit' (examples are paired into "
              "mixtures of mixtures)")
  if family == "decvae":
    return _decvae_cross_field(config)
  return None


def _mesh_fields(config, batch):
  """A 2-D mesh (decompjax/sharding.py make_mesh): model_parallel divides the devices, the batch the data axis.
  Checked here when mesh.num_devices names the count; for 0 (every device) make_mesh and check_batch_divisible
  check the same once the devices are known."""
  model, devices = _get(config, "mesh.model_parallel"), _get(config, "mesh.num_devices")
  if not (_is_int(model) and model > 1 and _is_int(devices) and devices > 0):
    return None
  if devices % model:
    return ("mesh.model_parallel", model, f"must divide mesh.num_devices ({devices})")
  rows = devices // model
  if _is_int(batch) and batch % rows:
    return ("train.batch_size", batch, f"must be a multiple of the mesh's 'data' axis ({rows} = mesh.num_devices "
            f"{devices} / mesh.model_parallel {model}): the batch is split over 'data' only")
  return None


def validate(config) -> None:
  """Raises ConfigError (config_utils.ConfigError) naming the first field that breaks its rule."""
  family = _get(config, "model.family")
  rules = {**COMMON, **FAMILY_RULES.get(family, {})}
  for path, check in rules.items():
    value = _get(config, path)
    problem = None if value is _MISSING else check(value)
    if problem:
      raise ConfigError(f"config field '{path}' = {value!r}: {problem}")
  broken = _cross_field(config, family)
  if broken:
    path, value, problem = broken
    raise ConfigError(f"config field '{path}' = {value!r}: {problem}")
