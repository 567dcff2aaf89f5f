"""Finding a hub module from a path: the module itself or a model_dir."""

import pytest

from yoto.training import export


def test_a_model_dir_resolves_to_its_newest_module(tmp_path):
  for step in (7, 12):
    module = tmp_path / "hub_modules" / f"step-{step:09d}"
    module.mkdir(parents=True)
    (module / "saved_model.pb").write_bytes(b"")
  (tmp_path / "hub_modules" / "step-000000020").mkdir()  # No saved_model.pb.
  newest = str(tmp_path / "hub_modules" / "step-000000012")
  assert export.resolve_hub_module(str(tmp_path)) == newest
  assert export.resolve_hub_module(newest) == newest
  assert export.hub_module_path(str(tmp_path), 12) == newest


def test_missing_paths_and_runs_without_modules_say_what_to_do(tmp_path):
  with pytest.raises(export.HubModuleNotFoundError,
                     match="No such hub module"):
    export.resolve_hub_module(str(tmp_path / "missing"))
  with pytest.raises(export.HubModuleNotFoundError,
                     match="--schedule=eval"):
    export.resolve_hub_module(str(tmp_path))
