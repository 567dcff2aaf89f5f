"""One training job per model_dir: a lock file naming the process that holds it.

Two trainers on one model_dir (a job started twice, a restarted job whose old
process still runs) would interleave their checkpoints. So a training
schedule first creates `model_dir/train.lock` atomically (O_CREAT | O_EXCL)
holding JSON {pid, hostname, started}, and removes it when it ends. A second
trainer finding a live holder is refused with a message naming it. A lock
whose process is gone (killed with SIGKILL, machine rebooted) is stale: on the
same host, a pid that no longer runs is recognised and the lock taken over;
a lock from another host cannot be checked from here, so the message says
how to remove it. Under MultiWorkerMirroredStrategy only the chief locks, so
the workers of one job count as one job. Evaluation (`--schedule=eval`)
takes no lock: it only reads checkpoints.

Limits: a pid reused by an unrelated process after a crash makes a stale
lock look live (the message names the pid, and removing the file is safe
once that is checked); model_dirs on storage without atomic exclusive create
(some object stores) are not protected.
"""

import contextlib
import json
import os
import socket
import time
from typing import Dict, Iterator, Optional

from absl import logging

LOCK_FILE = "train.lock"


class ModelDirLockedError(RuntimeError):
  """Another live training process holds the model_dir."""


def lock_path(model_dir: str) -> str:
  return os.path.join(model_dir, LOCK_FILE)


def _read(path: str) -> Optional[Dict]:
  """The holder recorded in a lock file, or None if it is unreadable."""
  try:
    with open(path) as f:
      holder = json.load(f)
  except (OSError, ValueError):
    return None
  if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int):
    return None
  return holder


def _is_alive(pid: int) -> bool:
  """Whether a process with this pid runs on this machine."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # It runs, as another user.
    return True
  return True


def _describe(holder: Dict) -> str:
  started = holder.get("started")
  since = (
    time.strftime(" since %Y-%m-%d %H:%M:%S UTC", time.gmtime(started))
    if isinstance(started, (int, float))
    else ""
  )
  return f"process {holder['pid']} on {holder.get('hostname', '?')}{since}"


def _is_stale(holder: Optional[Dict]) -> bool:
  """Whether a recorded holder is certainly gone (or the lock is garbage)."""
  if holder is None:
    return True  # Half-written by a killed process, or not ours at all.
  if holder.get("hostname") != socket.gethostname():
    return False  # Cannot check another machine's processes.
  return holder["pid"] == os.getpid() or not _is_alive(holder["pid"])


def _create(path: str) -> bool:
  """Creates the lock file for this process; False if it already exists."""
  try:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
  except FileExistsError:
    return False
  with os.fdopen(fd, "w") as f:
    json.dump(
      {
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "started": time.time(),
      },
      f,
    )
  return True


def acquire(model_dir: str) -> str:
  """Takes model_dir's training lock; returns the lock file's path.

  Raises:
    ModelDirLockedError: if a live process (or one on another host) holds it.
  """
  path = lock_path(model_dir)
  for _ in range(3):
    if _create(path):
      return path
    holder = _read(path)
    if holder is None:
      time.sleep(0.2)  # Perhaps being written right now: look again.
      holder = _read(path)
    if not _is_stale(holder):
      raise ModelDirLockedError(
        f"{model_dir} is being trained by {_describe(holder)} (lock file "
        f"{path}). Wait for it to finish or stop it, or train into another "
        "--model_dir. If that process is gone (e.g. on a machine that was "
        "shut down), delete the lock file and rerun."
      )
    logging.warning(
      "Taking over the stale training lock %s of %s, which no longer runs.",
      path,
      _describe(holder) if holder else "an unknown process",
    )
    try:
      os.remove(path)
    except FileNotFoundError:
      pass  # Another process took it over first; try to create it again.
  raise ModelDirLockedError(
    f"Could not take the training lock {path}: other processes keep taking it."
  )


def release(path: str) -> None:
  """Removes the lock file if this process still holds it."""
  holder = _read(path)
  if (
    holder is not None
    and holder["pid"] == os.getpid()
    and holder.get("hostname") == socket.gethostname()
  ):
    os.remove(path)


@contextlib.contextmanager
def held(model_dir: str) -> Iterator[str]:
  """Holds model_dir's training lock for the duration of a `with` block."""
  path = acquire(model_dir)
  try:
    yield path
  finally:
    release(path)
