"""Exports a problem's hub module (a TF2 SavedModel) atomically.

Modules go to `model_dir/hub_modules/step-XXXXXXXXX` (nine digits), the
path `yoto.clients.paths.hub_module_path` names and where the clients find
them. The SavedModel is written to a temporary sibling directory and renamed
into place, so a crash or a full disk never leaves a half-written module
under the final name, and an existing module is never overwritten.
"""

import os
import shutil
import tempfile

from absl import logging
import tensorflow as tf


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
      raise OSError(
        f"Could not write the hub module to {path}: {e}. Free "
        "disk space or choose another --model_dir; checkpoints "
        "are untouched and `--schedule=eval` exports again."
      ) from e
    raise
  logging.info("Exported hub module %s", path)
  return path
