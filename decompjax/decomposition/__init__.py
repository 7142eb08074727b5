"""Signal decomposition for DecVAE (specs/decvae.md §1.2): FD, EWT, VMD, EMD over 25 ms frames and sequences.

Runtime code is ours (numpy/scipy, and JAX for VMD's ADMM loop); ewtpy, vmdpy and EMD-signal are test oracles
only. Modules: config (knobs), framing (frames, notch), peaks (Welch peak bands), fd, ewt, vmd, emd (the
methods), grouping (to exactly C slots + mask), quality (NRMSE, |corr|, centre frequencies, figures), api.
"""
from __future__ import annotations

from decompjax.decomposition.api import (FrameDecomposition, SequenceDecomposition, decompose_frames,
                                         decompose_sequence, decompose_utterance)
from decompjax.decomposition.config import default_config, timit_config
from decompjax.decomposition.framing import frame_signal, notch
from decompjax.decomposition.quality import frame_quality, quality_figures, write_quality

__all__ = ["FrameDecomposition", "SequenceDecomposition", "decompose_frames", "decompose_sequence",
           "decompose_utterance", "default_config", "timit_config", "frame_signal", "notch", "frame_quality",
           "quality_figures", "write_quality"]
