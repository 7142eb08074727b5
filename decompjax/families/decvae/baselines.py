"""The non-learned baselines of the DecVAE tables (spec §5.1): PCA, ICA and the raw frame features ("raw mel").

Each turns the frame X (level 0 of every frame: the 400-d mel patch, or 400 samples for waveform input) into
"latents": PCA / FastICA fitted on a seeded sample of the train split's real frames, applied to the evaluation
split; 'raw' is X itself. The result goes through the same collection and analysis as a trained model
(`evaluate.collect` + `evaluate.analysis_report`), so the rows are comparable.
"""
from __future__ import annotations

import numpy as np

from decompjax.errors import ConfigError
from decompjax.evaluation.report import Report
from decompjax.families.decvae import evaluate as evaluate_lib
from decompjax.families.decvae import latents as lat

KINDS = ("pca", "ica", "raw")
MAX_FIT_FRAMES = 5000  # train frames the projections are fitted on (seeded sample)


def frame_x(arrays) -> np.ndarray:
  """Level 0 of every frame: [N, F, D]."""
  return np.asarray(arrays["frames"])[:, :, 0, :]


def fit_projection(kind: str, train_x: np.ndarray, *, dims: int, seed: int):
  """A fitted x [M, D] -> features [M, dims] map for 'pca' / 'ica'; identity for 'raw'."""
  if kind not in KINDS:
    raise ConfigError(f"baseline {kind!r} is not one of {KINDS}")
  if kind == "raw":
    return lambda x: np.asarray(x, np.float64)
  if not 1 <= dims <= min(train_x.shape):
    raise ConfigError(f"baseline {kind}: dims={dims} must be in [1, {min(train_x.shape)}] (train frames x features)")
  from sklearn.decomposition import PCA, FastICA
  if kind == "pca":
    model = PCA(n_components=dims, random_state=seed)
  else:
    model = FastICA(n_components=dims, whiten="unit-variance", max_iter=400, tol=1e-3, random_state=seed)
  import warnings
  with warnings.catch_warnings():  # FastICA's non-convergence warning: the table reports what it found
    warnings.simplefilter("ignore")
    model.fit(np.asarray(train_x, np.float64))
  return lambda x: model.transform(np.asarray(x, np.float64))


def baseline_features(kind: str, train_arrays, eval_arrays, *, dims: int, seed: int) -> np.ndarray:
  """[N, F, dims] features of every eval frame (real train frames fitted on, at most MAX_FIT_FRAMES)."""
  xt = frame_x(train_arrays)[np.asarray(train_arrays["frame_valid"]) > 0]
  xt = xt[lat.subsample(len(xt), MAX_FIT_FRAMES, seed)]
  project = fit_projection(kind, xt, dims=dims, seed=seed)
  xe = frame_x(eval_arrays)
  return project(xe.reshape(-1, xe.shape[-1])).reshape(xe.shape[:2] + (-1,))


def evaluate_baseline(config, kind: str, *, dims: int) -> Report:
  """The latent analysis of a baseline on config.eval.split (Z rows only: X aggregation)."""
  from decompjax.families.decvae import data
  limit = int(config.eval.max_utterances) or None
  train_arrays = data.load_split_arrays(config, "train")
  eval_arrays = data.load_split_arrays(config, config.eval.split, limit=limit)
  feats = baseline_features(kind, train_arrays, eval_arrays, dims=dims, seed=int(config.seed))
  z, _, fz, _ = evaluate_lib.collect({"z": {"X": feats}}, eval_arrays, tuple(config.eval.factors_z), (),
                                     drop_overlap=bool(config.data.get("drop_overlap_frames", True)))
  report = evaluate_lib.analysis_report(config, z, {}, fz, {}, title=f"{kind} baseline latent analysis "
                                        f"({config.data.name}, {config.eval.split} split, {feats.shape[-1]} dims)")
  report.metrics["eval_frames_kept"] = int(len(z["X"]))
  return report
