"""Tests of the one-trainer-per-model_dir lock (yoto.training.run_lock)."""

import json
import os
import signal
import socket
import subprocess
import sys

from conftest import TINY_BINDINGS
import pytest

from yoto import main
from yoto.training import run_lock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A second process that takes the lock and keeps it until killed.
_HOLDER = (
  "import sys, time\n"
  "from yoto.training import run_lock\n"
  "run_lock.acquire(sys.argv[1])\n"
  "print('held', flush=True)\n"
  "time.sleep(120)\n"
)


@pytest.fixture
def holder(tmp_path):
  """A live process on this host holding tmp_path's lock."""
  env = dict(os.environ, PYTHONPATH=ROOT)
  process = subprocess.Popen(
    [sys.executable, "-c", _HOLDER, str(tmp_path)],
    stdout=subprocess.PIPE,
    env=env,
    text=True,
  )
  try:
    assert process.stdout.readline().strip() == "held"
    yield process
  finally:
    if process.poll() is None:
      process.kill()
    process.wait()


def test_a_second_process_is_refused_naming_the_first(tmp_path, holder):
  with pytest.raises(
    run_lock.ModelDirLockedError,
    match=f"process {holder.pid} on {socket.gethostname()}",
  ):
    run_lock.acquire(str(tmp_path))


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path, holder):
  holder.send_signal(signal.SIGKILL)
  holder.wait()
  path = run_lock.acquire(str(tmp_path))
  with open(path) as f:
    assert json.load(f)["pid"] == os.getpid()
  run_lock.release(path)
  assert not os.path.exists(path)


def test_training_is_refused_before_anything_is_written(tmp_path, holder):
  del holder
  before = sorted(os.listdir(tmp_path))
  with pytest.raises(run_lock.ModelDirLockedError, match="being trained by"):
    main.run_in_process(
      str(tmp_path),
      [os.path.join(ROOT, "config", "photo_patches_conv_vae_yoto.gin")],
      TINY_BINDINGS,
      schedule="train",
    )
  assert sorted(os.listdir(tmp_path)) == before


def test_a_lock_from_another_host_is_not_taken_over(tmp_path):
  path = run_lock.lock_path(str(tmp_path))
  with open(path, "w") as f:
    json.dump({"pid": 1, "hostname": "elsewhere", "started": 0}, f)
  with pytest.raises(
    run_lock.ModelDirLockedError,
    match="process 1 on elsewhere.*delete the lock file",
  ):
    run_lock.acquire(str(tmp_path))
  assert os.path.exists(path)


def test_a_garbled_lock_is_stale(tmp_path):
  path = run_lock.lock_path(str(tmp_path))
  with open(path, "w") as f:
    f.write("{not json")
  with run_lock.held(str(tmp_path)):
    with open(path) as f:
      assert json.load(f)["pid"] == os.getpid()
  assert not os.path.exists(path)
