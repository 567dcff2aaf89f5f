"""Multi-loss optimizers: how per-example losses become one training loss.

A multi-loss optimizer sits between a `Problem` (which returns a dict of
per-example losses) and the training loop (which needs one scalar). It
decides the loss weights and, for YOTO, the conditioning input the network
sees. It also evaluates the problem at any set of weight vectors.

Losses are always ordered by `sorted(problem.losses_keys)`; every weight
vector and `inputs_extra` column follows that order.
"""

import abc
from typing import Dict, Optional, Tuple

import tensorflow as tf

from yoto.problems import base as problems_base
from yoto.weights import contract

Tensors = Dict[str, tf.Tensor]


def stack_losses(losses: Tensors, names) -> tf.Tensor:
  """Stacks per-example losses into [..., num_losses] in `names` order."""
  missing = set(names) - set(losses)
  if missing:
    raise ValueError(
      f"The problem returned losses {sorted(losses)} but "
      f"declares losses_keys {sorted(names)}."
    )
  return tf.stack([losses[name] for name in names], axis=-1)


class MultiLossOptimizer(metaclass=abc.ABCMeta):
  """Base class: turns a problem's losses into a weighted training loss."""

  def __init__(self, problem: problems_base.Problem):
    self.problem = problem
    self.losses_names = tuple(sorted(problem.losses_keys))

  @property
  @abc.abstractmethod
  def conditioning(self) -> contract.LossConditioning:
    """The conditioning contract of the model this optimizer trains."""

  def build_state(self) -> Dict[str, tf.Module]:
    """Creates the optimizer's own variables, if it has any; call inside the
    distribution strategy's scope. Returns them by name for the checkpoint
    (none by default)."""
    return {}

  @property
  def num_conditioning_inputs(self) -> Optional[int]:
    return len(self.losses_names) if self.conditioning.is_conditioned else None

  @abc.abstractmethod
  def train_losses(
    self, features: Tensors, seed: tf.Tensor
  ) -> Tuple[tf.Tensor, Tensors, Tensors]:
    """One training batch.

    Args:
      features: a batch of features, each [batch, ...].
      seed: int tensor [2]; everything random in this call derives from it.

    Returns:
      (weighted [batch] per-example training loss, losses dict of [batch],
      metrics dict of [batch]).
    """

  @abc.abstractmethod
  def eval_losses_and_metrics(
    self,
    features: Tensors,
    weights: tf.Tensor,
    seed: Optional[tf.Tensor] = None,
  ) -> Tensors:
    """Evaluates the model at K weight vectors in one pass.

    Args:
      features: a batch of features, each [batch, ...].
      weights: float32 [K, num_losses] raw weights in sorted loss order.
      seed: optional int tensor [2] for the problem's sampling.

    Returns:
      Dict of [K, batch] tensors: every loss, every metric, and `full_loss`
      (the weighted sum of the losses with that row's weights).
    """


def full_loss(losses: Tensors, names, weights: tf.Tensor) -> tf.Tensor:
  """Σ_i w_i L_i for losses of shape [K, B] and weights [K, num_losses]."""
  stacked = stack_losses(losses, names)  # [K, B, n]
  return tf.reduce_sum(stacked * weights[:, tf.newaxis, :], axis=-1)
