"""Finding the newest checkpoint of a model_dir that can actually be read.

A checkpoint is an index file (`ckpt-N.index`) and data shards
(`ckpt-N.data-0000i-of-0000k`). A disk that filled up, a copy that was cut
short or a shard lost in a transfer leaves one that `tf.train.Checkpoint`
cannot restore, and a restore that fails half-way has already assigned some
variables. So every tensor of a checkpoint is read with a
`tf.train.CheckpointReader` first, without touching the model: the training
loop resumes from the newest checkpoint that reads completely (never from
step 0 while any checkpoint exists), moves damaged newer ones aside into
`model_dir/damaged_checkpoints/` (nothing is deleted, and the retrained step
does not overwrite them), and logs what it skipped; the eval schedule skips a
damaged checkpoint with a warning.
"""

import glob
import os
import re
import shutil
from typing import List, Optional

from absl import logging
import tensorflow as tf

DAMAGED_DIR = "damaged_checkpoints"
_STEP = re.compile(r"-(\d+)$")
# What reading a damaged checkpoint raises: TensorFlow's errors, and the
# IndexError / ValueError / RuntimeError its reader maps some of them to.
READ_ERRORS = (tf.errors.OpError, IndexError, ValueError, RuntimeError, OSError)


class NoReadableCheckpointError(RuntimeError):
  """model_dir has checkpoints, and none of them can be read."""


def _prefix_of(path: str) -> str:
  """'dir/ckpt-6.data-00000-of-00001' or 'dir/ckpt-6.index' -> 'dir/ckpt-6'."""
  for marker in (".index", ".data-"):
    if marker in os.path.basename(path):
      return path[: path.rindex(marker)]
  return path


def _step_of(prefix: str) -> int:
  match = _STEP.search(prefix)
  return int(match.group(1)) if match else -1


def checkpoint_prefixes(model_dir: str) -> List[str]:
  """Every checkpoint of model_dir, oldest first, as path prefixes.

  The union of what the `checkpoint` state file lists and of the
  `*.index` / `*.data-*` files present, so a damaged state file or a missing
  index still leaves a checkpoint visible (and reported).
  """
  prefixes = set()
  try:
    state = tf.train.get_checkpoint_state(model_dir)
  except READ_ERRORS as e:
    logging.warning(
      "The checkpoint state file in %s is unreadable (%s); "
      "looking at the checkpoint files instead.",
      model_dir,
      e,
    )
    state = None
  if state is not None:
    for path in state.all_model_checkpoint_paths:
      if not os.path.isabs(path):
        path = os.path.join(model_dir, path)
      prefixes.add(path)
  for path in glob.glob(
    os.path.join(glob.escape(model_dir), "*.index")
  ) + glob.glob(os.path.join(glob.escape(model_dir), "*.data-*")):
    prefixes.add(_prefix_of(path))
  return sorted(prefixes, key=lambda p: (_step_of(p), p))


def _first_line(error: BaseException) -> str:
  text = getattr(error, "message", None) or str(error) or type(error).__name__
  return text.strip().splitlines()[0]


def damage(prefix: str) -> Optional[str]:
  """What is wrong with a checkpoint (naming the file), or None if it reads.

  Reads every tensor, so a truncated or missing data shard is found as
  surely as a damaged index.
  """
  index = prefix + ".index"
  if not os.path.exists(index):
    return f"{index} is missing"
  try:
    reader = tf.train.load_checkpoint(prefix)
  except READ_ERRORS as e:
    return f"{index} is damaged ({_first_line(e)})"
  dtypes = reader.get_variable_to_dtype_map()
  names = sorted(dtypes)
  try:
    # RestoreV2 reads (and checksums) every tensor, variants such as the
    # input iterator's state included, which the reader cannot return.
    tf.raw_ops.RestoreV2(
      prefix=prefix,
      tensor_names=names,
      shape_and_slices=[""] * len(names),
      dtypes=[dtypes[n] for n in names],
    )
  except READ_ERRORS as e:
    shards = sorted(
      os.path.basename(p) for p in glob.glob(glob.escape(prefix) + ".data-*")
    )
    return (
      f"its data files {os.path.basename(prefix)}.data-* ("
      f"{', '.join(shards) or 'none present'}) are truncated, damaged "
      f"or incomplete ({_first_line(e)})"
    )
  return None


def set_aside(prefix: str, model_dir: str) -> str:
  """Moves a damaged checkpoint's files into model_dir/damaged_checkpoints/.

  Keeps the bytes (nothing is deleted) and keeps a retrained checkpoint of
  the same step from overwriting them. Returns the folder.
  """
  target = os.path.join(model_dir, DAMAGED_DIR)
  os.makedirs(target, exist_ok=True)
  for path in glob.glob(glob.escape(prefix) + ".*"):
    shutil.move(path, os.path.join(target, os.path.basename(path)))
  return target


def newest_readable(
  model_dir: str, set_aside_damaged: bool = False
) -> Optional[str]:
  """The newest checkpoint of model_dir that reads completely.

  Damaged newer checkpoints are logged (naming the file and what is wrong)
  and, with `set_aside_damaged`, moved into model_dir/damaged_checkpoints/
  and dropped from the `checkpoint` state file (which then names the
  returned one as the latest).

  Returns:
    The checkpoint prefix, or None if model_dir has no checkpoint at all.

  Raises:
    NoReadableCheckpointError: if there are checkpoints and none reads; the
      message names each and what is wrong with it. Nothing is moved then.
  """
  prefixes = checkpoint_prefixes(model_dir)
  problems = []
  for prefix in reversed(prefixes):
    problem = damage(prefix)
    if problem is None:
      break
    problems.append((prefix, problem))
    logging.warning(
      "Checkpoint %s cannot be read: %s. Trying the previous one.",
      prefix,
      problem,
    )
  else:
    if problems:
      listing = "; ".join(f"{p}: {why}" for p, why in problems)
      raise NoReadableCheckpointError(
        f"None of the {len(problems)} checkpoints in {model_dir} can be "
        f"read ({listing}). Nothing was changed. Restore the files from a "
        "backup, or move them away to start training from step 0."
      )
    return None
  if problems and set_aside_damaged:
    for damaged, _ in problems:
      target = set_aside(damaged, model_dir)
    kept = prefixes[: prefixes.index(prefix) + 1]
    tf.compat.v1.train.update_checkpoint_state(
      model_dir, prefix, all_model_checkpoint_paths=kept
    )
    logging.warning(
      "Resuming from %s; moved the %d damaged newer checkpoint(s) %s into %s.",
      prefix,
      len(problems),
      [os.path.basename(p) for p, _ in problems],
      target,
    )
  elif problems:
    logging.warning(
      "Using %s; skipped the damaged newer checkpoint(s) %s.",
      prefix,
      [os.path.basename(p) for p, _ in problems],
    )
  return prefix
