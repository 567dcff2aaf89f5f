"""Bit-reproducible training: the same seed gives the same weights.

`tf.keras.utils.set_random_seed` fixes every random draw of a run, yet two
runs of one seed on a multi-core CPU still part: TensorFlow splits large
reductions across its intra-op thread pool, and the order in which threads
add their partial sums changes the last bit of a float32 result. After a few
hundred steps of a chaotic training run those bits have grown into different
models (two 1,600-step runs of one style-transfer seed differed by 8 % in
full loss; BENCHMARKS.md §7). Op determinism
(`tf.config.experimental.enable_op_determinism`) alone does not remove this
on CPU; running every op on one thread (one intra-op and one inter-op
thread) does, and op determinism covers the GPU kernels.

Both settings are process-wide and must be made before TensorFlow runs its
first op, so `enable` is called at the start of a process (`--deterministic`
of `python -m yoto.main` and of the reproductions), and `experiment` only
checks that it was (`RuntimeOptions.deterministic`).

Cost: one CPU thread per process. Where the cores are shared by as many
processes (the reproductions' parallel chains) it costs little; a single
process on an idle multi-core machine trains slower.
"""

import tensorflow as tf

_enabled = False


class DeterminismError(RuntimeError):
  """Deterministic training was asked for but cannot be (or was not) set."""


def enable() -> None:
  """Makes this process's TensorFlow computations bit-reproducible.

  Idempotent. Raises DeterminismError when TensorFlow has already run ops
  with its default thread pool, which cannot be changed afterwards.
  """
  global _enabled
  if _enabled:
    return
  try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
  except RuntimeError as e:
    raise DeterminismError(
      "Deterministic training must be enabled before TensorFlow runs its "
      f"first op ({e}). Call yoto.training.determinism.enable() at the "
      "start of the process, or pass --deterministic on the command line."
    ) from None
  tf.config.experimental.enable_op_determinism()
  _enabled = True


def is_enabled() -> bool:
  """Whether `enable` has made this process deterministic."""
  threading = tf.config.threading
  return (
    _enabled
    and threading.get_intra_op_parallelism_threads() == 1
    and threading.get_inter_op_parallelism_threads() == 1
  )


def check(required: bool) -> None:
  """Raises DeterminismError if `required` and this process is not
  deterministic: a run that promises reproducibility must deliver it."""
  if required and not is_enabled():
    raise DeterminismError(
      "This run asks for deterministic training "
      "(RuntimeOptions.deterministic=True) but the process was started "
      "without it. Call yoto.training.determinism.enable() before "
      "TensorFlow runs its first op, or pass --deterministic on the command "
      "line."
    )
