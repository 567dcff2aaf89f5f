"""Shared pytest setup: quiet TF logs, a temporary TFDS data directory, and a
CPU split into two logical devices.

TFDS data that the tests build (the embedded photo_patches dataset) goes to a
temporary TFDS_DATA_DIR, removed at the end of the session, never to the
user's ~/tensorflow_datasets; subprocesses inherit it. Two logical CPU devices
let strategy tests run MirroredStrategy on one machine; they must be
configured before TensorFlow initialises its runtime, so it happens here, at
collection time, for the whole session.
"""

import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TFDS_DATA_DIR = tempfile.mkdtemp(prefix="yoto_tests_tfds_")
os.environ["TFDS_DATA_DIR"] = TFDS_DATA_DIR

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
  tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
  )
except RuntimeError:  # The runtime is already initialised; keep what exists.
  pass


import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(ROOT, "config")

# Bindings that shrink any VAE config to a few seconds of work.
TINY_BINDINGS = (
  "experiment.train_steps = 6",
  "experiment.iterations_per_loop = 3",
  "experiment.save_checkpoints_steps = 3",
  "experiment.eval_steps = 1",
)


def pytest_sessionfinish(session, exitstatus):
  del session, exitstatus
  shutil.rmtree(TFDS_DATA_DIR, ignore_errors=True)


def config_path(name):
  return os.path.join(CONFIG_DIR, name)


def run_experiment(
  model_dir, config, bindings=(), schedule="train_and_eval", **runtime_kwargs
):
  """Runs `experiment` in-process with a fresh gin config; returns the result."""
  from yoto import main  # pylint: disable=g-import-not-at-top
  from yoto.training import experiment  # pylint: disable=g-import-not-at-top

  files = [config_path(config)] if isinstance(config, str) else config
  return main.run_in_process(
    str(model_dir),
    files,
    bindings,
    schedule,
    experiment.RuntimeOptions(**runtime_kwargs),
  )


@pytest.fixture(name="run_experiment")
def run_experiment_fixture():
  return run_experiment
