"""The decomposition API (briefs/decvae_interfaces.md): frames or a whole sequence -> C components low -> high.

`decompose_frames` runs the configured method on all frames at once, then `grouping.group` maps the method's
components to exactly C slots with a mask. `decompose_sequence` is the same on one long signal (noc_seq,
spec_amp_tol_seq). `decompose_utterance` is the prepare-time path: notch -> frames -> both levels.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from decompjax.decomposition import config as config_lib
from decompjax.decomposition import emd as emd_lib
from decompjax.decomposition import ewt as ewt_lib
from decompjax.decomposition import fd as fd_lib
from decompjax.decomposition import framing, grouping
from decompjax.decomposition import vmd as vmd_lib
from decompjax.errors import DataError


@dataclasses.dataclass
class FrameDecomposition:
  components: np.ndarray      # [F, C, D] float32, OC1..OCC low -> high; zero where the mask is False
  component_mask: np.ndarray  # [F, C] bool: slot holds a detected component
  frame_ok: np.ndarray        # [F] bool: at least one component (else the frame is unusable)
  centre_freqs: np.ndarray    # [F, C] float32 Hz (spectral centroid), NaN where missing
  remainder: np.ndarray       # [F, D] float32: the method's output no slot keeps (EWT's lowest mode, EMD's
                              # residue + frame mean, components under spec_amp_tol); zeros for FD / VMD.
                              # frames - components.sum(1) - remainder is the method's misfit (-> NRMSE)


@dataclasses.dataclass
class SequenceDecomposition:
  components: np.ndarray      # [Cs, L] float32
  component_mask: np.ndarray  # [Cs] bool
  centre_freqs: np.ndarray    # [Cs] float32 Hz, NaN where missing
  remainder: np.ndarray       # [L] float32
  ok: bool                    # at least one component


def _check_finite(x: np.ndarray, where: str, unit: str) -> None:
  """DataError naming the first rows (frames) or samples that hold NaN/Inf."""
  bad = ~np.isfinite(x)
  if bad.any():
    at = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1) if x.ndim > 1 else bad)
    raise DataError(f"{where}: NaN/Inf samples at {unit} index {', '.join(map(str, at[:5]))}"
                    f"{' ...' if len(at) > 5 else ''}")


def _raw(x: np.ndarray, cfg, c: int, sample_rate: int, seed: int):
  """The method's components [F, M, D] (valid packed first, low -> high), valid [F, M], remainder [F, D]."""
  if cfg.method == "fd":
    return fd_lib.fd(x, cfg, sample_rate)
  if cfg.method == "ewt":
    return ewt_lib.ewt(x, cfg, c)
  if cfg.method == "vmd":
    return vmd_lib.vmd(x, cfg, c, seed)[:3]
  return emd_lib.emd(x, cfg, c)


def _decompose(x: np.ndarray, cfg, c: int, tol: float, sample_rate: int, seed: int):
  config_lib.check(cfg)
  comps, valid, remainder = _raw(x, cfg, c, sample_rate, seed)
  out, mask, ok, remainder = grouping.group(comps, valid, remainder, c, cfg, tol, sample_rate)
  cf = np.where(mask, grouping.centre_frequencies(out, sample_rate), np.nan)
  return out.astype(np.float32), mask, ok, cf.astype(np.float32), remainder.astype(np.float32)


def decompose_frames(frames: np.ndarray, cfg, *, sample_rate: int = 16_000, seed: int = 0) -> FrameDecomposition:
  """frames [F, D] -> FrameDecomposition with C = cfg.noc components per frame."""
  frames = np.asarray(frames)
  if frames.ndim != 2 or frames.shape[0] == 0 or frames.shape[1] < 16:
    raise DataError(f"decompose_frames: expected frames [F, D] with F >= 1 and D >= 16, got {frames.shape}")
  _check_finite(frames, "decompose_frames", "frame")
  out, mask, ok, cf, rem = _decompose(frames, cfg, int(cfg.noc), float(cfg.spec_amp_tol), sample_rate, seed)
  return FrameDecomposition(out, mask, ok, cf, rem)


def decompose_sequence(x: np.ndarray, cfg, *, sample_rate: int = 16_000, seed: int = 0) -> SequenceDecomposition:
  """x [L] -> SequenceDecomposition with Cs = cfg.noc_seq components."""
  x = np.asarray(x)
  if x.ndim != 1 or len(x) < 16:
    raise DataError(f"decompose_sequence: expected a 1-D signal of >= 16 samples, got shape {x.shape}")
  _check_finite(x, "decompose_sequence", "sample")
  out, mask, ok, cf, rem = _decompose(x[None], cfg, int(cfg.noc_seq), float(cfg.spec_amp_tol_seq), sample_rate,
                                      seed)
  return SequenceDecomposition(out[0], mask[0], cf[0], rem[0], bool(ok[0]))


def decompose_utterance(x: np.ndarray, cfg, *, sample_rate: int = 16_000, seed: int = 0, frame: int = framing.FRAME,
                        hop: int = framing.HOP):
  """One utterance [L] -> (frames [F, frame], FrameDecomposition or None, SequenceDecomposition or None): the
  notch (cfg.notch), framing, then the levels cfg.frame_level / cfg.seq_level ask for."""
  x = np.asarray(x)
  if x.ndim == 1:
    _check_finite(x, "decompose_utterance", "sample")
  if cfg.notch:
    x = framing.notch(x, sample_rate)
  frames = framing.frame_signal(x, frame, hop)
  frame_dec = decompose_frames(frames, cfg, sample_rate=sample_rate, seed=seed) if cfg.frame_level else None
  seq_dec = decompose_sequence(x, cfg, sample_rate=sample_rate, seed=seed) if cfg.seq_level else None
  return frames, frame_dec, seq_dec
