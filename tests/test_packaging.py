"""Packaging: setup.py's pinned requirements (test tools only as an extra)
and the package's import graph.
"""

import ast
import glob
import os
import runpy

from conftest import ROOT
import setuptools


def _setup_arguments(monkeypatch):
  captured = {}
  monkeypatch.setattr(setuptools, "setup", captured.update)
  runpy.run_path(os.path.join(ROOT, "setup.py"))
  return captured


def _names(requirements):
  return {r.split("==")[0] for r in requirements}


def test_test_tools_are_an_extra_not_runtime_requirements(monkeypatch):
  arguments = _setup_arguments(monkeypatch)
  runtime = _names(arguments["install_requires"])
  test = _names(arguments["extras_require"]["test"])
  assert {"tensorflow", "gin-config", "absl-py"} <= runtime
  assert {"pytest", "papermill"} <= test
  assert not runtime & test


def test_every_requirement_is_pinned_and_installed_by_setup(monkeypatch):
  arguments = _setup_arguments(monkeypatch)
  every = arguments["install_requires"] + arguments["extras_require"]["test"]
  assert all("==" in r for r in every), every
  with open(os.path.join(ROOT, "requirements.txt")) as f:
    pinned = [line.split("#")[0].strip() for line in f]
  assert sorted(every) == sorted(p for p in pinned if p)


def _yoto_imports():
  """{module: set of yoto modules it imports}, for every module of yoto/."""
  root = ROOT
  graph = {}
  for path in glob.glob(
    os.path.join(root, "yoto", "**", "*.py"), recursive=True
  ):
    module = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
    if module.endswith(".__init__"):
      module = module[: -len(".__init__")]
    imported = set()
    with open(path) as f:
      for node in ast.walk(ast.parse(f.read())):
        if (
          isinstance(node, ast.ImportFrom)
          and node.module
          and node.module.startswith("yoto")
        ):
          imported.update(f"{node.module}.{a.name}" for a in node.names)
          imported.add(node.module)
        elif isinstance(node, ast.Import):
          imported.update(
            a.name for a in node.names if a.name.startswith("yoto")
          )
    graph[module] = imported
  return graph


def test_the_subpackages_import_each_other_without_a_cycle():
  # A package graph without cycles lets a reader start at the bottom
  # (architectures, weights) and climb.
  def package(module):
    parts = module.split(".")
    return ".".join(parts[:2])

  modules = _yoto_imports()
  edges = {}
  for module, imported in modules.items():
    for target in imported:
      if target in modules and package(target) != package(module):
        edges.setdefault(package(module), set()).add(package(target))

  def reaches(start, goal, seen):
    for nxt in edges.get(start, ()):
      if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
        return True
    return False

  cycles = sorted(p for p in edges if reaches(p, p, {p}))
  assert not cycles, f"packages on an import cycle: {cycles}"


def test_one_module_of_each_name_for_the_conditioning_ideas():
  names = [m.rsplit(".", 1)[-1] for m in _yoto_imports()]
  assert names.count("conditioning") == 1


def test_command_lines_and_analysis_never_reach_the_training_package():
  # They run exported modules through yoto.clients; training is for training.
  modules = _yoto_imports()
  starts = [
    "yoto.compress",
    "yoto.stylize",
    "yoto.plot",
    "yoto.clients",
    "yoto.analysis.vae_outputs",
  ]
  starts += [m for m in modules if m.startswith("yoto.clients.")]
  for start in starts:
    seen, todo = set(), [start]
    while todo:
      module = todo.pop()
      for target in modules.get(module, ()):
        if target in modules and target not in seen:
          seen.add(target)
          todo.append(target)
    reached = sorted(m for m in seen if m.startswith("yoto.training"))
    assert not reached, f"{start} imports {reached}"
