"""setup.py: pinned runtime requirements, test tools only as an extra."""

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
