"""One registry maps `config.model.family` to the code of that family.

Each entry is "package.module:ATTRIBUTE" naming a `decompjax.family.Family`. Modules are imported lazily, so that
`decompjax data ...` does not pay for every model's imports. Adding a family = one line here (or `register`).
"""
from __future__ import annotations

import importlib

from decompjax.family import Family

_FAMILIES: dict[str, str] = {
    # SynTone benchmark families (VAE = beta_vae with beta=1) share one package.
    "beta_vae": "decompjax.families.syntone_vae.family:BETA_VAE",
    "beta_tcvae": "decompjax.families.syntone_vae.family:BETA_TCVAE",
    "factor_vae": "decompjax.families.syntone_vae.family:FACTOR_VAE",
    "vqvae": "decompjax.families.vqvae.family:VQVAE",
    "barlow_vqvae": "decompjax.families.vqvae.family:BARLOW_VQVAE",
    "autodecompose": "decompjax.families.autodecompose.family:AUTODECOMPOSE",
    "decvae": "decompjax.families.decvae.family:DECVAE",
    "decvae_fc_vae": "decompjax.families.decvae.fc_vae:DECVAE_FC_VAE",
    "convae_bss": "decompjax.families.convae_bss.family:CONVAE_BSS",
}


def register(name: str, target: str) -> None:
  """Registers "module:ATTRIBUTE" under `name` (out-of-tree families, tests)."""
  if ":" not in target:
    raise ValueError(f"register({name!r}, {target!r}): the target must be 'package.module:ATTRIBUTE'")
  if name in _FAMILIES and _FAMILIES[name] != target:
    raise ValueError(f"family {name!r} is already registered to {_FAMILIES[name]}")
  _FAMILIES[name] = target


def names() -> list[str]:
  return sorted(_FAMILIES)


def get_family(name: str) -> Family:
  if name not in _FAMILIES:
    from decompjax.errors import ConfigError
    raise ConfigError(f"unknown model family {name!r}; registered families: {', '.join(names())}")
  module_name, _, attr = _FAMILIES[name].partition(":")
  family = getattr(importlib.import_module(module_name), attr)
  if not isinstance(family, Family) or family.name != name:
    raise RuntimeError(f"{_FAMILIES[name]} is not the Family {name!r}")
  return family
