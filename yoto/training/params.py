"""Learning-rate schedules, weight decay and the Keras base optimizers.

`TrainingParams` carries the original config's four numbers. The learning
rate is piecewise constant: `initial_lr * lr_decay_factor**k` after the k-th
step listed in `lr_decay_steps_str` ('300000,390000'). Weight decay is
decoupled, `v <- v - lr * wd * v` each step, applied by the Keras optimizer
itself (its `weight_decay` argument) to the non-conditioning variables; the
conditioning variables get their own optimizer and decay when a separate
conditioning optimizer is configured, and no decay otherwise (as in the
original). Keras applies the decay just before the gradient update rather than
just after it; the two differ by a term of order lr² · wd.
"""

import dataclasses
from typing import Callable, Optional, Sequence

import tensorflow as tf


@dataclasses.dataclass
class TrainingParams:
  """Learning-rate schedule and weight decay of one optimizer."""

  initial_lr: float
  lr_decay_factor: float = 1.0
  lr_decay_steps_str: str = ""
  weight_decay: float = 0.0

  def __post_init__(self):
    if not self.initial_lr > 0:
      raise ValueError(
        f"TrainingParams.initial_lr must be positive, got {self.initial_lr}."
      )
    if self.weight_decay < 0:
      raise ValueError(
        f"TrainingParams.weight_decay must be >= 0, got {self.weight_decay}."
      )
    self.decay_steps()  # Validates the string early.

  def decay_steps(self) -> Sequence[int]:
    """Parses `lr_decay_steps_str` into increasing positive ints."""
    text = (self.lr_decay_steps_str or "").strip()
    if not text:
      return []
    try:
      steps = [int(s) for s in text.split(",")]
    except ValueError:
      raise ValueError(
        "TrainingParams.lr_decay_steps_str must be comma-separated integers "
        f"such as '300000,390000', got {self.lr_decay_steps_str!r}."
      ) from None
    if any(b <= a for a, b in zip(steps, steps[1:])) or steps[0] <= 0:
      raise ValueError(
        "TrainingParams.lr_decay_steps_str must list positive, "
        f"strictly increasing steps, got {steps}."
      )
    return steps

  def learning_rate(self):
    """A Keras schedule (or a float when there is no decay)."""
    steps = self.decay_steps()
    if not steps:
      return float(self.initial_lr)
    values = [
      self.initial_lr * self.lr_decay_factor**i for i in range(len(steps) + 1)
    ]
    return tf.keras.optimizers.schedules.PiecewiseConstantDecay(
      [float(s) for s in steps], values
    )


def adam_optimizer(
  learning_rate,
  beta1: float = 0.9,
  beta2: float = 0.999,
  epsilon: float = 1e-8,
  name: str = "Adam",
  use_locking: bool = False,
  weight_decay: Optional[float] = None,
  jit_compile: bool = False,
  global_clipnorm: Optional[float] = None,
) -> tf.keras.optimizers.Adam:
  """Keras Adam accepting the TF1 `AdamOptimizer` argument names.

  `use_locking` has no Keras equivalent and is ignored. XLA is off by default:
  it made these small convnets slower on CPU (see DESIGN.md).
  `global_clipnorm` (off by default, as in the original): before each
  update, the gradients of the variables this optimizer updates are scaled
  down together so that their global L2 norm is at most this value (after
  the replicas' gradients are summed), which bounds Adam's moments after a
  gradient spike. It cannot rescue a gradient whose squared norm overflows
  float32 (above about 1.8e19): TensorFlow's clipping returns NaN then.
  """
  del use_locking
  if global_clipnorm is not None and not global_clipnorm > 0:
    raise ValueError(
      "AdamOptimizer.global_clipnorm must be a positive number (or None "
      f"for no clipping), got {global_clipnorm!r}."
    )
  return tf.keras.optimizers.Adam(
    learning_rate=learning_rate,
    beta_1=beta1,
    beta_2=beta2,
    epsilon=epsilon,
    name=name,
    weight_decay=weight_decay or None,
    jit_compile=jit_compile,
    global_clipnorm=global_clipnorm,
  )


def make_optimizer(
  optimizer_factory: Callable[..., tf.keras.optimizers.Optimizer],
  params: TrainingParams,
  decayed_variables: Sequence[tf.Variable],
  all_variables: Sequence[tf.Variable],
) -> tf.keras.optimizers.Optimizer:
  """Builds a base optimizer whose weight decay touches only some variables.

  Args:
    optimizer_factory: called as `factory(learning_rate=..., weight_decay=...)`
      (e.g. `adam_optimizer`).
    params: schedule and weight decay.
    decayed_variables: variables that get weight decay.
    all_variables: every variable this optimizer updates.

  Returns:
    A Keras optimizer with its slot variables already created, so that a
    checkpoint restores its state immediately rather than lazily.
  """
  optimizer = optimizer_factory(
    learning_rate=params.learning_rate(),
    weight_decay=params.weight_decay or None,
  )
  decayed = {id(v) for v in decayed_variables}
  excluded = [v for v in all_variables if id(v) not in decayed]
  if excluded and params.weight_decay:
    optimizer.exclude_from_weight_decay(var_list=excluded)
  optimizer.build(list(all_variables))
  return optimizer


def current_learning_rate(optimizer: tf.keras.optimizers.Optimizer):
  """The learning rate the optimizer uses at its current iteration."""
  lr = optimizer.learning_rate
  return lr(optimizer.iterations) if callable(lr) else lr
