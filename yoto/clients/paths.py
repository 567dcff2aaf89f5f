"""Where hub modules live: `model_dir/hub_modules/step-XXXXXXXXX`.

Training exports one module per evaluated checkpoint under its model_dir
(`hub_module_path`, nine-digit steps). The command lines and notebooks take
either a module or a model_dir and use `resolve_hub_module` to find the
module (a model_dir's newest); `module_step` and `model_dir_of_module` go
back from a module's path. Plain path logic: importing this module loads
no TensorFlow.
"""

import os
from typing import Optional

HUB_DIR = "hub_modules"
_STEP_PREFIX = "step-"


class HubModuleNotFoundError(FileNotFoundError):
  """A path that is neither a hub module nor a model_dir holding one."""


def hub_module_path(model_dir: str, step: int) -> str:
  """Where the module of checkpoint `step` of `model_dir` is exported."""
  return os.path.join(model_dir, HUB_DIR, f"{_STEP_PREFIX}{int(step):09d}")


def module_step(module_path: str) -> int:
  """The checkpoint step of a `step-XXXXXXXXX` module; 0 for other names."""
  name = os.path.basename(os.path.normpath(module_path))
  digits = name[len(_STEP_PREFIX) :]
  return (
    int(digits) if name.startswith(_STEP_PREFIX) and digits.isdigit() else 0
  )


def model_dir_of_module(module_path: str) -> Optional[str]:
  """`model_dir` for a module at `model_dir/hub_modules/step-N`, else None."""
  parent = os.path.dirname(os.path.normpath(module_path))
  if os.path.basename(parent) == HUB_DIR:
    return os.path.dirname(parent)
  return None


def latest_hub_module(model_dir: str) -> Optional[str]:
  """The path of the newest exported module of `model_dir`, or None."""
  root = os.path.join(model_dir, HUB_DIR)
  if not os.path.isdir(root):
    return None
  steps = sorted(
    d
    for d in os.listdir(root)
    if d.startswith(_STEP_PREFIX)
    and os.path.exists(os.path.join(root, d, "saved_model.pb"))
  )
  return os.path.join(root, steps[-1]) if steps else None


def resolve_hub_module(path: str) -> str:
  """`path` if it is a hub module, else the newest module of the model_dir
  `path`; the command lines and notebooks accept either.

  Raises:
    HubModuleNotFoundError: with what to do, when there is none.
  """
  if os.path.isfile(os.path.join(path, "saved_model.pb")):
    return path
  if not os.path.isdir(path):
    raise HubModuleNotFoundError(f"No such hub module or model_dir: {path}")
  latest = latest_hub_module(path)
  if latest is None:
    raise HubModuleNotFoundError(
      f"{path} is neither a hub module (no saved_model.pb) nor a model_dir "
      f"with exported modules under {HUB_DIR}/; evaluate the run "
      "(python -m yoto.main --schedule=eval) to export one."
    )
  return latest
