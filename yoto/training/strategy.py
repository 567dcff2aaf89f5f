"""Chooses the tf.distribute strategy once, from the command line.

`default` is the no-op default strategy; `one_device` pins to the first GPU
(or CPU); `mirrored` replicates over all local GPUs (or all logical CPUs when
there is no GPU); `multi_worker_mirrored` reads the cluster from TF_CONFIG;
`tpu` (or the original's `--use_tpu --master=grpc://...`) resolves a TPU
through `TPUClusterResolver`.
"""

from typing import Optional

import tensorflow as tf

STRATEGIES = (
  "default",
  "one_device",
  "mirrored",
  "multi_worker_mirrored",
  "tpu",
)


def make_strategy(
  name: str = "default", tpu_address: Optional[str] = None
) -> tf.distribute.Strategy:
  """Returns the strategy called `name`.

  Args:
    name: one of STRATEGIES.
    tpu_address: the TPU name or grpc:// address for `tpu` (empty or None
      means the local TPU, e.g. on a TPU VM).
  """
  if name not in STRATEGIES:
    raise ValueError(
      f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}."
    )
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "one_device":
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
  if name == "mirrored":
    devices = tf.config.list_logical_devices(
      "GPU"
    ) or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in devices])
  if name == "multi_worker_mirrored":
    return tf.distribute.MultiWorkerMirroredStrategy()
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
    tpu=tpu_address or ""
  )
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this process writes checkpoints, summaries and exports."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return True
  task_type, task_id = resolver.task_type, resolver.task_id
  if task_type in (None, "chief"):
    return True
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  return task_type == "worker" and task_id == 0 and not has_chief


def worker_id(strategy: tf.distribute.Strategy) -> int:
  resolver = getattr(strategy, "cluster_resolver", None)
  return int(getattr(resolver, "task_id", 0) or 0)
