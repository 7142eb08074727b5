"""One registry maps `config.model.family` to the code of that family.

Adding a family = adding a module that exposes `FAMILY: decompjax.families.base.Family` and one line here.
Modules are imported lazily so that `decompjax data ...` does not pay for every model's imports.
"""
from __future__ import annotations

import importlib

from decompjax.families.base import Family

_FAMILIES: dict[str, str] = {
    # SynTone benchmark families (VAE = beta_vae with beta=1).
    "beta_vae": "decompjax.families.beta_vae",
    "beta_tcvae": "decompjax.families.beta_tcvae",
    "factor_vae": "decompjax.families.factor_vae",
    "vqvae": "decompjax.families.vqvae",
    "barlow_vqvae": "decompjax.families.barlow_vqvae",
    "autodecompose": "decompjax.families.autodecompose",
}


def register(name: str, module: str) -> None:
  """Registers a family module path under `name` (for out-of-tree families)."""
  if name in _FAMILIES and _FAMILIES[name] != module:
    raise ValueError(f"family {name!r} is already registered to {_FAMILIES[name]}")
  _FAMILIES[name] = module


def names() -> list[str]:
  return sorted(_FAMILIES)


def get_family(name: str) -> Family:
  if name not in _FAMILIES:
    raise ValueError(f"unknown model family {name!r}; registered families: {', '.join(names())}")
  module = importlib.import_module(_FAMILIES[name])
  family = getattr(module, "FAMILY")
  if family.name != name:
    raise RuntimeError(f"{_FAMILIES[name]}.FAMILY.name is {family.name!r}, registered as {name!r}")
  return family
