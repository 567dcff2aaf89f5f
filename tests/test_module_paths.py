"""Finding a hub module from a path (yoto.clients.paths): the module itself
or a model_dir, and back from a module to its run and step."""

import os
import subprocess
import sys

from conftest import ROOT
import pytest

from yoto.clients import paths


def test_a_model_dir_resolves_to_its_newest_module(tmp_path):
  for step in (7, 12):
    module = tmp_path / "hub_modules" / f"step-{step:09d}"
    module.mkdir(parents=True)
    (module / "saved_model.pb").write_bytes(b"")
  (tmp_path / "hub_modules" / "step-000000020").mkdir()  # No saved_model.pb.
  newest = str(tmp_path / "hub_modules" / "step-000000012")
  assert paths.resolve_hub_module(str(tmp_path)) == newest
  assert paths.resolve_hub_module(newest) == newest
  assert paths.hub_module_path(str(tmp_path), 12) == newest
  assert paths.latest_hub_module(str(tmp_path)) == newest


def test_missing_paths_and_runs_without_modules_say_what_to_do(tmp_path):
  with pytest.raises(paths.HubModuleNotFoundError, match="No such hub module"):
    paths.resolve_hub_module(str(tmp_path / "missing"))
  with pytest.raises(paths.HubModuleNotFoundError, match="--schedule=eval"):
    paths.resolve_hub_module(str(tmp_path))
  assert paths.latest_hub_module(str(tmp_path)) is None


def test_model_dir_of_module():
  module = os.path.join("runs", "a", "hub_modules", "step-000000020")
  assert paths.model_dir_of_module(module) == os.path.join("runs", "a")
  assert paths.model_dir_of_module(module + os.sep) == os.path.join("runs", "a")
  assert paths.model_dir_of_module(os.path.join("exported", "m")) is None


@pytest.mark.parametrize(
  "name, step",
  [
    ("step-000000020", 20),
    ("step-000000020/", 20),
    ("exported", 0),
    ("step-latest", 0),
  ],
)
def test_module_step_reads_the_step_from_the_name(name, step):
  assert (
    paths.module_step(os.path.join("runs", "a", "hub_modules", name)) == step
  )
  assert paths.module_step(paths.hub_module_path("runs", 1234)) == 1234


def test_paths_load_no_tensorflow():
  # `yoto.plot frontier` and other TensorFlow-free callers import it.
  result = subprocess.run(
    [
      sys.executable,
      "-c",
      "import sys; import yoto.clients.paths; "
      "print('tensorflow' in sys.modules)",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    check=True,
  )
  assert result.stdout.strip() == "False"
