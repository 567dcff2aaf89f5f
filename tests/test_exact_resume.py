"""A run killed with SIGKILL and restarted ends bit-identical to one that was
never interrupted: the input iterator is checkpointed with the model."""

import os
import signal
import subprocess
import sys

from absl import logging
import numpy as np
import pytest
import resume_worker
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "resume_worker.py")


def _final_tensors(model_dir):
  """Every model and optimizer tensor of the final checkpoint, by name."""
  path = os.path.join(model_dir, f"ckpt-{resume_worker.STEPS}")
  reader = tf.train.load_checkpoint(path)
  return {
    name: reader.get_tensor(name)
    for name in reader.get_variable_to_shape_map()
    if name.startswith(("problem/", "optimizer/"))
  }


def _run_until(model_dir, kill_after_step=None):
  """Runs the worker; SIGKILLs it once it reports `kill_after_step` saved."""
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
  process = subprocess.Popen(
    [sys.executable, WORKER, str(model_dir)],
    stdout=subprocess.PIPE,
    stderr=subprocess.DEVNULL,
    env=env,
    text=True,
  )
  try:
    for line in process.stdout:
      if (
        kill_after_step is not None
        and line.strip() == f"saved {kill_after_step}"
      ):
        process.send_signal(signal.SIGKILL)
        break
  finally:
    process.wait()
  return process.returncode


def test_a_run_killed_twice_ends_bit_identical(tmp_path):
  # Both runs in fresh processes: the test process's random state depends
  # on the tests that ran before it.
  assert _run_until(tmp_path / "uninterrupted", None) == 0
  killed = tmp_path / "killed"
  assert _run_until(killed, 4) == -signal.SIGKILL
  assert _run_until(killed, 8) == -signal.SIGKILL
  assert _run_until(killed, None) == 0
  expected = _final_tensors(tmp_path / "uninterrupted")
  got = _final_tensors(killed)
  assert set(got) == set(expected) and len(expected) >= 3
  for name, value in expected.items():
    np.testing.assert_array_equal(got[name], value, err_msg=name)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_input_position_is_saved_unless_turned_off(tmp_path, enabled):
  trainer = resume_worker.make_trainer(
    str(tmp_path), tf.distribute.get_strategy(), enabled
  )
  trainer.train(resume_worker.dataset_fn)
  names = tf.train.load_checkpoint(
    str(tmp_path / "ckpt-2")
  ).get_variable_to_shape_map()
  assert any(name.startswith("iterator/") for name in names) == enabled


def test_an_iterator_that_cannot_be_saved_is_logged(tmp_path, monkeypatch):
  """The mirrored strategies' DistributedIterator is not trackable in TF
  2.14: such runs resume, but not bit for bit, and the log says so."""
  devices = tf.config.list_logical_devices("CPU")
  strategy = tf.distribute.MirroredStrategy([d.name for d in devices[:2]])
  trainer = resume_worker.make_trainer(str(tmp_path), strategy)
  iterator = iter(
    strategy.distribute_datasets_from_function(resume_worker.dataset_fn)
  )
  warnings = []
  monkeypatch.setattr(
    logging, "warning", lambda msg, *args: warnings.append(msg % args)
  )
  tracked = trainer.track_iterator(iterator)
  assert tracked == isinstance(iterator, tf.__internal__.tracking.Trackable)
  if not tracked:
    assert any(
      "MirroredStrategy" in w and "not bit-identical" in w for w in warnings
    )


def test_a_pipeline_that_cannot_be_saved_is_dropped_with_a_warning(
  tmp_path, monkeypatch
):
  """tf.py_function is stateful: such an iterator cannot be serialized."""

  def dataset_fn(ctx):
    return resume_worker.dataset_fn(ctx).map(
      lambda e: {
        "x": tf.ensure_shape(
          tf.py_function(lambda x: x, [e["x"]], tf.float32), e["x"].shape
        )
      }
    )

  warnings = []
  monkeypatch.setattr(
    logging, "warning", lambda msg, *args: warnings.append(msg % args)
  )
  trainer = resume_worker.make_trainer(
    str(tmp_path), tf.distribute.get_strategy()
  )
  assert trainer.train(dataset_fn) == resume_worker.STEPS
  assert any("cannot be checkpointed" in w for w in warnings)
  names = tf.train.load_checkpoint(
    str(tmp_path / f"ckpt-{resume_worker.STEPS}")
  ).get_variable_to_shape_map()
  assert not any(name.startswith("iterator/") for name in names)
