"""Shared pytest setup: quiet TF logs and a CPU split into two logical devices.

Two logical CPU devices let strategy tests run MirroredStrategy on one machine;
they must be configured before TensorFlow initialises its runtime, so it happens
here, at collection time, for the whole session.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
  tf.config.set_logical_device_configuration(
      _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:  # The runtime is already initialised; keep what exists.
  pass
