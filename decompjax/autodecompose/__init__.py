"""Autodecompose (Bonyadi 2023): voice/content decomposition of speech with two encoders and one generator.

`decompjax.autodecompose.embed(workdir, audio_paths, encoder='voice'|'content')` is the embedding API.
"""
from __future__ import annotations

# Bound after the submodule import on purpose: the package attribute `embed` is the function.
from decompjax.autodecompose.embed import embed  # noqa: E402,F401
