"""Mixed precision, an option for accelerator users (`experiment.mixed_precision_policy`).

Keras mixed precision (https://www.tensorflow.org/guide/mixed_precision): with
the policy 'mixed_float16' (GPUs) or 'mixed_bfloat16' (TPUs, and CPUs with
AVX512-BF16), layers keep float32 variables but compute in 16 bits. Set the
policy in the config, e.g.

  experiment.mixed_precision_policy = 'mixed_bfloat16'

`experiment` then builds every network under that policy and restores the
previous one when it returns. What stays in float32: the problem casts the
networks' outputs to float32 before the losses (the VAE's posterior, KL and
likelihood), so per-example losses, their weighting and the summaries are
float32. Only problems that declare `supports_mixed_precision` accept a
policy (the β-VAE so far); compression and style transfer raise a clear
error. With float16, whose range is narrow, the training loop
scales the loss (`tf.keras.mixed_precision.LossScaleOptimizer`, dynamic
scale) so that small gradients do not underflow, and skips steps whose
gradients overflow; bfloat16 has float32's range and needs no scaling.

Off by default (None, i.e. 'float32'): on the project's 2-core CPU, bfloat16
was 1.08x (CIFAR-10 architecture) and 0.83x (Shapes3D) of float32's speed
(DESIGN.md), so only accelerators gain. A float16 checkpoint holds the loss
scale too, so it restores only into a float16 run.
"""

import contextlib
import functools
import inspect
from typing import Callable, Iterator, List, Optional

import tensorflow as tf

# The policies `experiment.mixed_precision_policy` accepts (None: float32).
POLICIES = ("mixed_float16", "mixed_bfloat16")
ARGUMENT = "mixed_precision_policy"


def check_policy(name: Optional[str]) -> str:
  """The Keras policy name for `name` (None -> 'float32'), or a clear error."""
  if name is None or name == "float32":
    return "float32"
  if name not in POLICIES:
    raise ValueError(
      f"experiment.{ARGUMENT} must be one of {', '.join(POLICIES)} or None "
      f"(float32), got {name!r}: 'mixed_float16' on GPUs, 'mixed_bfloat16' "
      "on TPUs."
    )
  return name


@contextlib.contextmanager
def policy_scope(name: Optional[str]) -> Iterator[str]:
  """Sets the global Keras policy `name` (None: float32) for the block.

  Networks take the policy in force when their layers are created, so the
  block must build them. The previous global policy is restored afterwards,
  even on errors, so later models in the same process (tests, in-process
  reproductions) are not affected.
  """
  policy = check_policy(name)
  previous = tf.keras.mixed_precision.global_policy()
  tf.keras.mixed_precision.set_global_policy(policy)
  try:
    yield policy
  finally:
    tf.keras.mixed_precision.set_global_policy(previous)


def with_policy_argument(fn: Callable) -> Callable:
  """Runs `fn` under the policy named by its `mixed_precision_policy` argument.

  The signature (and so gin's view of the parameters) stays `fn`'s.
  """
  signature = inspect.signature(fn)
  if ARGUMENT not in signature.parameters:
    raise TypeError(f"{fn.__name__} has no argument {ARGUMENT!r}.")

  @functools.wraps(fn)
  def wrapped(*args, **kwargs):
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    with policy_scope(bound.arguments[ARGUMENT]):
      return fn(*args, **kwargs)

  return wrapped


def check_problem(problem) -> None:
  """Raises unless `problem` supports the global policy.

  Only problems that compute their losses in float32 from 16-bit networks
  (`Problem.supports_mixed_precision`, so far the VAE) run under a mixed
  policy; the compression problem's entropy models and the style-transfer
  problem's VGG-16 loss network are float32 only.

  Raises:
    ValueError: naming the problem and what to change.
  """
  policy = tf.keras.mixed_precision.global_policy().name
  if policy != "float32" and not getattr(
    problem, "supports_mixed_precision", False
  ):
    raise ValueError(
      f"experiment.{ARGUMENT} = {policy!r} is not supported by "
      f"{type(problem).__name__}, which computes in float32 only (so far "
      "only ConditionalVaeProblem supports mixed precision); unset "
      f"experiment.{ARGUMENT}."
    )


def needs_loss_scaling() -> bool:
  """Whether the global policy computes in float16 (narrow exponent range)."""
  return tf.keras.mixed_precision.global_policy().compute_dtype == "float16"


def maybe_loss_scale(
  optimizers: List[tf.keras.optimizers.Optimizer],
) -> List[tf.keras.optimizers.Optimizer]:
  """Wraps the optimizer in a dynamic `LossScaleOptimizer` under float16.

  Call it after the optimizer is built (its weight-decay exclusions and
  slots belong to the inner optimizer). Only one optimizer is supported
  under float16: a loss scale skips the steps whose gradients overflow, and
  a second optimizer would apply them.

  Raises:
    ValueError: under float16 with more than one optimizer.
  """
  if not needs_loss_scaling():
    return optimizers
  if len(optimizers) != 1:
    raise ValueError(
      "experiment.mixed_precision_policy = 'mixed_float16' needs loss "
      "scaling, which supports one optimizer; unset "
      "experiment.base_optimizer_conditioning_class (and "
      "training_params_conditioning_class) or use 'mixed_bfloat16'."
    )
  return [tf.keras.mixed_precision.LossScaleOptimizer(optimizers[0])]


def scale_loss(
  optimizer: tf.keras.optimizers.Optimizer, loss: tf.Tensor
) -> tf.Tensor:
  """`loss` times the optimizer's loss scale (unchanged without one)."""
  if isinstance(optimizer, tf.keras.mixed_precision.LossScaleOptimizer):
    return optimizer.get_scaled_loss(loss)
  return loss


def unscale_gradients(
  optimizer: tf.keras.optimizers.Optimizer, gradients: List[tf.Tensor]
) -> List[tf.Tensor]:
  """Gradients of a `scale_loss`-scaled loss, divided by the scale again."""
  if isinstance(optimizer, tf.keras.mixed_precision.LossScaleOptimizer):
    return optimizer.get_unscaled_gradients(gradients)
  return gradients
