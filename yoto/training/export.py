"""Exports a problem's hub module (a TF2 SavedModel) atomically.

Modules go to `model_dir/hub_modules/step-XXXXXXXXX` (nine digits). The
SavedModel is written to a temporary sibling directory and renamed into place,
so a crash or a full disk never leaves a half-written module under the final
name, and an existing module is never overwritten.
"""

import os
import shutil
import tempfile

from absl import logging
import tensorflow as tf

HUB_DIR = "hub_modules"


def hub_module_path(model_dir: str, step: int) -> str:
  return os.path.join(model_dir, HUB_DIR, f"step-{int(step):09d}")


class HubModuleNotFoundError(FileNotFoundError):
  """A path that is neither a hub module nor a model_dir holding one."""


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
        "(python -m yoto.main --schedule=eval) to export one.")
  return latest


def latest_hub_module(model_dir: str):
  """The path of the newest exported module, or None."""
  root = os.path.join(model_dir, HUB_DIR)
  if not os.path.isdir(root):
    return None
  steps = sorted(d for d in os.listdir(root) if d.startswith("step-")
                 and os.path.exists(os.path.join(root, d, "saved_model.pb")))
  return os.path.join(root, steps[-1]) if steps else None


def export_hub_module(problem, conditioning, path: str) -> str:
  """Saves `problem.export_module(conditioning)` at `path` unless it exists.

  Returns:
    `path`.
  """
  if os.path.exists(os.path.join(path, "saved_model.pb")):
    logging.info("Hub module %s exists; not exporting again.", path)
    return path
  parent = os.path.dirname(path)
  os.makedirs(parent, exist_ok=True)
  module = problem.export_module(conditioning)
  tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(path), dir=parent)
  try:
    tf.saved_model.save(module, tmp, signatures=module.signatures)
    if os.path.exists(path):  # A leftover without saved_model.pb.
      shutil.rmtree(path)
    os.rename(tmp, path)
  except BaseException as e:
    shutil.rmtree(tmp, ignore_errors=True)
    if isinstance(e, OSError):
      raise OSError(f"Could not write the hub module to {path}: {e}. Free "
                    "disk space or choose another --model_dir; checkpoints "
                    "are untouched and `--schedule=eval` exports again.") from e
    raise
  logging.info("Exported hub module %s", path)
  return path
