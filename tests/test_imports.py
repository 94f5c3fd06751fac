"""The package's imports: no cycles (imports inside functions count), every
module imports on its own, and importing changes nothing in the process
(the bin/ commands call `runtime.configure()` before TensorFlow loads)."""

from __future__ import annotations

import ast
import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = REPO / "logit_gan"
# What runtime.configure() may set; importing the package must not.
RUNTIME_VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "KERAS_BACKEND",
                     "TF_CPP_MIN_LOG_LEVEL")


def module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(REPO).with_suffix("").parts)
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
COMMANDS = sorted(m for m in MODULES if m.startswith("logit_gan.cli.")
                  and m != "logit_gan.cli.common")


def _imported(node: ast.AST, module: str, is_package: bool) -> set[str]:
  """The package's modules that one import statement executes."""
  if isinstance(node, ast.Import):
    return {alias.name for alias in node.names}
  base = module.split(".") if is_package else module.split(".")[:-1]
  if node.level:  # Relative: `from . import x`, `from ..data import y`.
    base = base[:len(base) - node.level + 1]
    source = ".".join(base + ([node.module] if node.module else []))
  else:
    source = node.module or ""
  return {source} | {f"{source}.{alias.name}" for alias in node.names}


def _is_type_checking(node: ast.AST) -> bool:
  return (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
          and node.test.id == "TYPE_CHECKING")


def _packages_above(module: str) -> set[str]:
  parts = module.split(".")
  return {".".join(parts[:i]) for i in range(1, len(parts))}


def imports_of(module: str) -> set[str]:
  """The package's modules `module` imports, at module level or inside
  functions (a cycle deferred into a function is still a cycle), with the
  packages around them that importing them runs (`logit_gan.data` for
  `logit_gan.data.pipeline`), except `module`'s own: those are already
  running when it runs."""
  path = MODULES[module]
  found = set()
  stack = [ast.parse(path.read_text(), str(path))]
  while stack:
    node = stack.pop()
    for child in ast.iter_child_nodes(node):
      if _is_type_checking(child):
        continue
      if isinstance(child, (ast.Import, ast.ImportFrom)):
        found |= _imported(child, module, path.name == "__init__.py")
      stack.append(child)
  found = {m for m in found if m in MODULES}
  found |= set().union(*map(_packages_above, found))
  return found - _packages_above(module) - {module}


def import_graph() -> dict[str, set[str]]:
  return {module: imports_of(module) for module in MODULES}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
  """One cycle (a, b, ..., a) per back edge of a depth-first walk; none
  if and only if the graph is acyclic."""
  cycles, state, path = [], {}, []  # state: 1 on the path, 2 finished.

  def visit(node):
    state[node] = 1
    path.append(node)
    for target in sorted(graph.get(node, ())):
      if state.get(target) == 1:
        cycles.append(path[path.index(target):] + [target])
      elif target not in state:
        visit(target)
    path.pop()
    state[node] = 2

  for node in sorted(graph):
    if node not in state:
      visit(node)
  return cycles


def test_find_cycles_names_a_cycle_and_passes_a_tree():
  assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [
      ["a", "b", "c", "a"]]
  assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_has_imports_inside_functions():
  """config imports the configurable modules inside a function, and the
  commands import the library inside `main`: both are edges."""
  graph = import_graph()
  assert "logit_gan.generator" in graph["logit_gan.config"]
  assert "logit_gan.trainer" in graph["logit_gan.cli.train"]
  assert "logit_gan.data.shapes" in graph["logit_gan.data.pipeline"]
  assert "logit_gan.data" in graph["logit_gan.cli.cache_logits"]


def test_no_import_cycles():
  cycles = find_cycles(import_graph())
  assert not cycles, "import cycles:\n" + "\n".join(
      " -> ".join(cycle) for cycle in cycles)


def test_configurable_is_a_leaf():
  """The networks take their gin decorator from here, not from `config`."""
  assert imports_of("logit_gan.configurable") == set()
  assert "logit_gan.config" not in imports_of("logit_gan.generator")
  assert "logit_gan.config" not in imports_of("logit_gan.discriminator")


def test_only_entry_points_import_config():
  """config imports every configurable module; the library below it takes
  what it needs as arguments. Only the commands and the loading of a
  trained run (and tests) read gin files."""
  importers = {module for module, imported in import_graph().items()
               if "logit_gan.config" in imported}
  assert importers <= set(COMMANDS) | {"logit_gan.cli.common",
                                        "logit_gan.trained"}, importers


def _run_python(code: str, *args: str, unset=(), **env_overrides) -> str:
  """The last line `code` printed in a fresh interpreter, its environment
  without `unset` and with `env_overrides`."""
  env = {key: value for key, value in os.environ.items() if key not in unset}
  env.update(PYTHONPATH=str(REPO), **env_overrides)
  ran = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
  assert ran.returncode == 0, ran.stderr[-3000:]
  return ran.stdout.strip().splitlines()[-1]


# Imports each module named on the command line, in order, into one fresh
# interpreter; reports the ones that failed and the environment variables
# each import changed. A command's flags are deleted after its import (each
# defines its own, several with the same names), as in test_cli.py.
_IMPORT_EACH = """
import importlib, json, os, sys, traceback
from absl import flags
failed, changed = {}, {}
for name in sys.argv[1:]:
  before, defined = dict(os.environ), set(flags.FLAGS)
  try:
    importlib.import_module(name)
  except Exception:
    failed[name] = traceback.format_exc(limit=-3)
  for flag in set(flags.FLAGS) - defined:
    delattr(flags.FLAGS, flag)
  changed.update({key: name for key in set(before) | set(os.environ)
                  if before.get(key) != os.environ.get(key)})
print(json.dumps({"failed": failed, "changed": changed}))
"""


def test_every_module_imports_and_changes_no_environment():
  """All modules in one fresh interpreter, in sorted order (without cycles,
  the order cannot matter; the slow test below checks each one alone)."""
  result = json.loads(_run_python(_IMPORT_EACH, *MODULES,
                                  TF_CPP_MIN_LOG_LEVEL="2"))
  assert not result["failed"], "\n".join(
      f"{name}:\n{error}" for name, error in result["failed"].items())
  assert not result["changed"], result["changed"]


def test_importing_the_package_and_its_commands_sets_nothing():
  """Importing logit_gan (or a command's module, as a bin/ script does)
  leaves the environment as it was and loads no TensorFlow, so that
  `runtime.configure()` can still set what TensorFlow reads as it loads."""
  code = ("import json, os, sys, importlib; before = dict(os.environ); "
          "[importlib.import_module(m) for m in sys.argv[1:]]; "
          "print(json.dumps({'same': before == dict(os.environ), "
          "'tensorflow': 'tensorflow' in sys.modules, "
          "'set': [k for k in %r if k in os.environ]}))"
          % (RUNTIME_VARIABLES,))
  for command in COMMANDS:  # One interpreter each: their flags clash.
    result = json.loads(_run_python(code, "logit_gan", command,
                                    unset=RUNTIME_VARIABLES))
    assert result == {"same": True, "tensorflow": False, "set": []}, command


def test_another_keras_backend_is_refused_at_import():
  env = {**os.environ, "PYTHONPATH": str(REPO), "KERAS_BACKEND": "jax"}
  ran = subprocess.run([sys.executable, "-c", "import logit_gan"], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=120)
  assert ran.returncode != 0
  assert "KERAS_BACKEND=tensorflow" in ran.stderr


@pytest.mark.slow
@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_alone(module):
  """Each module first in a fresh interpreter: catches a module that works
  only after another one happened to be imported (a gin or TFDS
  registration it relies on without importing it)."""
  result = json.loads(_run_python(_IMPORT_EACH, module,
                                  TF_CPP_MIN_LOG_LEVEL="2"))
  assert not result["failed"], result["failed"][module]
  assert not result["changed"], result["changed"]
