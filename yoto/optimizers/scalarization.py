"""Fixed-weight training: the classical baseline YOTO replaces.

`LinearlyScalarizedOptimizer` minimises Σ_i w_i L_i for one fixed weight
vector (given as a dict, or drawn once from a DistributionSpec). The model is
not conditioned. Evaluated at other weights it gives the paper's "single
model baseline": the same outputs, weighted differently.
"""

from typing import Optional

import tensorflow as tf

from yoto.optimizers import base
from yoto.weights import contract
from yoto.weights import distributions


class LinearlyScalarizedOptimizer(base.MultiLossOptimizer):
  """Trains an unconditioned model with fixed loss weights."""

  def __init__(
    self,
    problem,
    weights=None,
    batch_size: Optional[int] = None,
    seed: int = 17,
  ):
    """Creates the optimizer.

    Args:
      problem: the `Problem` to train.
      weights: a {loss name: weight} dict (or a string holding one), or a
        DistributionSpec (or its class) to draw one weight vector from.
      batch_size: ignored; kept for compatibility with the original
        signature (experiment passes it, configs may bind it).
      seed: seed for drawing the weights from a distribution.
    """
    del batch_size  # Accepted, as the original did, and unused.
    super().__init__(problem)
    if weights is None:
      raise ValueError(
        "LinearlyScalarizedOptimizer needs weights, e.g. "
        "LinearlyScalarizedOptimizer.weights = "
        "{'kl_loss': 4.0, 'reconstruction_loss': 1.0}."
      )
    parsed = distributions.get_samples_as_dicts(
      weights, num_samples=1, names=self.losses_names, seed=seed
    )
    if len(parsed) != 1:
      raise ValueError(
        "LinearlyScalarizedOptimizer.weights must be a single "
        f"weights dict, got {len(parsed)} of them."
      )
    self.weights = parsed[0]
    for name, value in self.weights.items():
      if value < 0:
        raise ValueError(f"Fixed loss weight {name}={value} is negative.")
    self._weight_vector = tf.constant(
      distributions.weights_matrix(parsed, self.losses_names)[0]
    )
    self._conditioning = contract.LossConditioning(
      self.losses_names, fixed_weights=dict(self.weights)
    )

  @property
  def conditioning(self):
    return self._conditioning

  def train_losses(self, features, seed):
    losses, metrics = self.problem.losses_and_metrics(
      features, None, training=True, seed=seed
    )
    stacked = base.stack_losses(losses, self.losses_names)
    total = tf.reduce_sum(self._weight_vector * stacked, axis=-1)
    return total, losses, metrics

  def eval_losses_and_metrics(self, features, weights, seed=None):
    losses, metrics = self.problem.losses_and_metrics(
      features, None, training=False, seed=seed
    )
    num_weights = tf.shape(weights)[0]
    # One model for every weight vector: compute once, weight K times.
    broadcast = lambda x: tf.broadcast_to(
      x[tf.newaxis], tf.concat([[num_weights], tf.shape(x)], 0)
    )
    losses = {k: broadcast(v) for k, v in losses.items()}
    metrics = {k: broadcast(v) for k, v in metrics.items()}
    return {
      **losses,
      **metrics,
      "full_loss": base.full_loss(losses, self.losses_names, weights),
    }
