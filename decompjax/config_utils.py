"""Config files and `--config.a.b=value` overrides.

`--config=configs/x.py[:arg]` loads `get_config(arg)`; each `--config.path=value` override is checked
against the field it replaces: an unknown field or a value of the wrong type is an error naming the field
and the valid keys beside it. The result is then checked against the per-field rules of
`decompjax.config_validation` and locked, so later typos fail as well.
"""
from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import os
import sys
from typing import Iterable

import ml_collections

from decompjax import config_validation
from decompjax import distributed, errors, fileio
from decompjax.errors import ConfigError  # also config_utils.ConfigError, as before


def load_config_file(spec: str) -> ml_collections.ConfigDict:
  """'configs/x.py:arg' -> get_config('arg'). The file's repository root goes on sys.path so presets can
  import `configs.common` wherever the command runs from."""
  path, _, arg = spec.partition(":")
  path = os.path.abspath(os.path.expanduser(path))
  if not os.path.isfile(path):
    raise ConfigError(f"config file not found: {path}")
  root = os.path.dirname(os.path.dirname(path))
  if root not in sys.path:
    sys.path.insert(0, root)
  module_spec = importlib.util.spec_from_file_location(f"_decompjax_config_{abs(hash(path))}", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise ConfigError(f"{path} has no get_config(arg) function")
  config = module.get_config(arg or None)
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigError(f"{path}:get_config returned {type(config).__name__}, not an ml_collections.ConfigDict")
  return config


def preset_path(filename: str) -> str:
  """Path of a shipped preset, `configs/<filename>` beside the package (editable install / checkout)."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  path = os.path.join(root, "configs", filename)
  if not os.path.isfile(path):
    raise ConfigError(f"preset {filename} not found at {path}: run from a checkout (pip install -e .)")
  return path


def _parse_value(field: str, old, text: str):
  if isinstance(old, bool):
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
      return True
    if low in ("0", "false", "no", "off"):
      return False
    raise ConfigError(f"--config.{field}={text!r}: expected a boolean (true/false)")
  if isinstance(old, int):
    try:
      return int(text)
    except ValueError:
      raise ConfigError(f"--config.{field}={text!r}: expected an integer (current value {old})") from None
  if isinstance(old, float):
    try:
      return float(text)
    except ValueError:
      raise ConfigError(f"--config.{field}={text!r}: expected a number (current value {old})") from None
  if isinstance(old, str):
    return text
  if isinstance(old, (tuple, list)):
    try:
      value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      value = tuple(v.strip() for v in text.split(",") if v.strip())
    value = value if isinstance(value, (tuple, list)) else (value,)
    return type(old)(value)
  if old is None:
    try:
      return ast.literal_eval(text)
    except (ValueError, SyntaxError):
      return text
  raise ConfigError(f"--config.{field}: cannot override a field of type {type(old).__name__} from the command line")


def apply_override(config: ml_collections.ConfigDict, dotted: str, text: str) -> None:
  node, parts = config, dotted.split(".")
  for i, key in enumerate(parts):
    here = ".".join(parts[:i]) or "config"
    if not isinstance(node, ml_collections.ConfigDict):
      raise ConfigError(f"--config.{dotted}: {here} is a value, not a group of fields")
    if key not in node:
      valid = sorted(node.keys())
      close = difflib.get_close_matches(key, valid, n=3)
      hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
      raise ConfigError(f"unknown config field '{dotted}': {here} has no field {key!r}.{hint} "
                        f"Valid keys in {here}: {', '.join(valid)}")
    if i < len(parts) - 1:
      node = node[key]
  old = node[parts[-1]]
  if isinstance(old, ml_collections.ConfigDict):
    raise ConfigError(f"--config.{dotted} is a group of fields ({', '.join(sorted(old.keys()))}); set one of them")
  with node.unlocked():
    node[parts[-1]] = _parse_value(dotted, old, text)


def split_config_args(argv: list[str]) -> tuple[str | None, list[tuple[str, str]], list[str]]:
  """Separates --config=..., --config.x=y from the other arguments."""
  spec, overrides, rest = None, [], []
  it = iter(argv)
  for a in it:
    if a.startswith("--config=") or a == "--config":
      spec = a.split("=", 1)[1] if "=" in a else next(it, None)
    elif a.startswith("--config."):
      body = a[len("--config."):]
      if "=" not in body:
        raise ConfigError(f"{a}: overrides take the form --config.field=value")
      key, value = body.split("=", 1)
      overrides.append((key, value))
    else:
      rest.append(a)
  return spec, overrides, rest


def build_config(spec: str, overrides: list[tuple[str, str]]) -> ml_collections.ConfigDict:
  """Preset + overrides -> a validated, locked config (ConfigError naming the field otherwise)."""
  config = load_config_file(spec)
  for key, value in overrides:
    apply_override(config, key, value)
  config_validation.validate(config)
  config.lock()
  return config


def save_config(config: ml_collections.ConfigDict, path: str) -> None:
  """Writes config.json atomically (local or gs://), on process 0 only: every host of a pod saving the same file
  at once races (files vanish under concurrent writers). A caller whose other processes then read it puts a
  distributed.barrier after this. A read-only or full disk is a WriteError naming the path."""
  if not distributed.is_writer():
    return
  try:
    fileio.write_text_atomic(path, config.to_json_best_effort(indent=2, sort_keys=True))
  except OSError as e:
    raise errors.write_error(path, e) from e


def load_saved_config(path: str, overrides: Iterable[tuple[str, str]] = ()) -> ml_collections.ConfigDict:
  """A workdir's config.json + overrides -> a validated, locked config (as build_config)."""
  if not fileio.isfile(path):
    raise ConfigError(f"no saved config at {path}: is this a decompjax workdir?")
  config = ml_collections.ConfigDict(json.loads(fileio.read_text(path)))
  for key, value in overrides:
    apply_override(config, key, value)
  config_validation.validate(config)
  config.lock()
  return config
