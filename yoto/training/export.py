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
