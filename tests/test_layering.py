"""The package's layers, read from the source (README "Layout"): imports go downward only and never in a circle.

  L0 core       errors, sharding, cpu_devices, ..., family, steps      imports only L0
  L1 floor      audio/ data/ losses/ metrics/ evaluation/ models/     L0 and L1
  L2 families   families/<group>/                                      L0, L1 and its own group
  L3            registry, train, restore, experiments/                 anything below
  L4            commands/, cli

Every import counts, also one inside a function (it is a dependency that only waits to run), and importing
`a.b.c` also runs the packages `a.b` and `a`. The registry's "module:ATTR" strings are imports too.
"""
import ast
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "decompjax")
FLOOR = ("audio", "data", "decomposition", "losses", "metrics", "evaluation", "models")
UPPER = ("families", "train", "restore", "registry", "experiments", "commands", "cli")
ENTRY = ("cli", "commands", "experiments")  # may set the CPU split (cpu_devices): the library never does


def _modules() -> dict[str, str]:
  """{'decompjax.a.b': path} of every module ('decompjax.a' for a/__init__.py)."""
  out = {}
  for folder, _, files in os.walk(ROOT):
    for name in files:
      if name.endswith(".py"):
        path = os.path.join(folder, name)
        parts = ["decompjax"] + os.path.relpath(path, ROOT)[:-3].split(os.sep)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
  return out


MODULES = _modules()


def _targets(module: str, node) -> list[str]:
  """The decompjax modules an Import/ImportFrom node runs: the named module and every package above it that is
  not above `module` too (those have run before `module` did)."""
  if isinstance(node, ast.Import):
    names = [a.name for a in node.names]
  else:
    base = node.module or ""
    if node.level:  # relative: from the importing module's package
      package = module.split(".") if MODULES[module].endswith("__init__.py") else module.split(".")[:-1]
      base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
    names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
  out = []
  for name in names:
    while name.startswith("decompjax.") and name not in MODULES:  # `import decompjax.a.attr`
      name = name.rsplit(".", 1)[0]
    parts = name.split(".")
    out += [p for p in (".".join(parts[:i]) for i in range(2, len(parts) + 1))
            if p in MODULES and (p == name or not module.startswith(p + "."))]
  return out


def _edges() -> dict[str, set[str]]:
  graph = {}
  for module, path in MODULES.items():
    with open(path, encoding="utf-8") as f:
      tree = ast.parse(f.read())
    deps = set()
    for node in ast.walk(tree):
      if isinstance(node, (ast.Import, ast.ImportFrom)):
        deps.update(_targets(module, node))
      elif isinstance(node, ast.Constant) and isinstance(node.value, str):  # registry entries "module:ATTR"
        match = re.fullmatch(r"(decompjax(?:\.\w+)+):\w+", node.value)
        if match and match.group(1) in MODULES:
          deps.update(_targets(module, ast.Import(names=[ast.alias(match.group(1))])))
    graph[module] = deps - {module}
  return graph


GRAPH = _edges()


def _top(module: str) -> str:
  return module.split(".")[1] if module.count(".") else ""


def _group(module: str) -> str | None:
  """'vqvae' for decompjax.families.vqvae.*; None outside a family package."""
  parts = module.split(".")
  return parts[2] if len(parts) > 2 and parts[1] == "families" else None


def _violations() -> list[str]:
  out = []
  for module, deps in sorted(GRAPH.items()):
    group, top = _group(module), _top(module)
    for dep in sorted(deps):
      why = None
      if group is not None:
        if _group(dep) not in (None, group) or (dep.startswith("decompjax.families.") and _group(dep) is None
                                                 and dep != "decompjax.families"):
          why = "a family package imports another family"
        elif _top(dep) in UPPER and _top(dep) != "families":
          why = "a family package imports a layer above it"
      elif top in FLOOR and _top(dep) in UPPER:
        why = "a floor library imports a layer above it"
      elif module in ("decompjax.family", "decompjax.steps") and _top(dep) == "families":
        why = "the contract imports a family"
      if dep == "decompjax.cpu_devices" and top not in ENTRY + ("cpu_devices",):
        why = "the library sets the CPU split (only a command's entry may)"
      if why:
        out.append(f"{module} -> {dep}: {why}")
  return out


def _cycles() -> list[list[str]]:
  """Strongly connected components with more than one module (Tarjan)."""
  index, low, stack, on_stack, found = {}, {}, [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in GRAPH.get(v, ()):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        found.append(sorted(component))

  for v in sorted(GRAPH):
    if v not in index:
      visit(v)
  return found


def test_the_walk_sees_imports_inside_functions_and_registry_strings():
  assert "decompjax.commands.train" in GRAPH["decompjax.cli"] or "decompjax.errors" in GRAPH["decompjax.cli"]
  assert "decompjax.families.vqvae.family" in GRAPH["decompjax.registry"]
  assert "decompjax.families.vqvae" in GRAPH["decompjax.registry"]  # the package runs first


def test_imports_go_downward_only():
  violations = _violations()
  assert not violations, "\n".join(violations)


def test_no_import_cycles():
  cycles = _cycles()
  assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("package", sorted(m for m in MODULES if m.count(".") == 2 and _group(m)
                                            and MODULES[m].endswith("__init__.py")))
def test_family_packages_init_holds_only_a_docstring(package):
  with open(MODULES[package], encoding="utf-8") as f:
    body = ast.parse(f.read()).body
  assert all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body), MODULES[package]
