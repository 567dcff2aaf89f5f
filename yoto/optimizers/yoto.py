"""The You-Only-Train-Once optimizer: train one model on a distribution of
loss weights, conditioned on them.

For every example (or once per batch) a weight vector λ is drawn from the
training `DistributionSpec`; the network sees `inputs_extra = T(λ)` (T is the
identity or the log) and the example's loss is Σ_i λ_i L_i with the same λ.
Optionally the weights used in the loss are divided by their geometric mean
(`normalize_loss_weights`), which keeps the loss scale steady across samples
while the network still sees the unnormalised λ; and each example's loss can
be divided by an online estimate of the expected loss at its λ
(`balance_loss_scale`, `loss_balance.LossScaleEstimate`), so that every λ
weighs alike in the gradient.
"""

from typing import Optional

import tensorflow as tf

from yoto.optimizers import base
from yoto.optimizers import loss_balance
from yoto.weights import contract
from yoto.weights import distributions


class YotoOptimizer(base.MultiLossOptimizer):
  """Samples loss weights, conditions the problem on them, weights its losses."""

  def __init__(
    self,
    problem,
    batch_size: Optional[int] = None,
    train_distribution_spec_class=None,
    extra_inputs_preprocessing=distributions.TransformType.IDENTITY,
    weights_per_sample: bool = True,
    normalize_loss_weights: bool = False,
    balance_loss_scale: bool = False,
  ):
    """Creates the optimizer.

    Args:
      problem: the `Problem` to train.
      batch_size: ignored; kept for compatibility with the original
        signature (experiment passes it, configs may bind it).
      train_distribution_spec_class: a DistributionSpec, or a zero-argument
        callable returning one (what gin's `@train/DistributionSpec` gives).
      extra_inputs_preprocessing: TransformType applied to λ before it is fed
        to the network.
      weights_per_sample: sample λ per example (True) or per batch (False).
      normalize_loss_weights: divide the loss weights by their geometric mean.
      balance_loss_scale: divide each example's loss by the expected loss at
        its λ, fitted online (`loss_balance`); the model then learns every
        part of the range at the same pace.
    """
    del batch_size  # Accepted, as the original did, and unused.
    super().__init__(problem)
    if train_distribution_spec_class is None:
      raise ValueError(
        "YotoOptimizer needs train_distribution_spec_class "
        "(e.g. YotoOptimizer.train_distribution_spec_class = "
        "@train/DistributionSpec)."
      )
    spec = distributions.parse_weights_spec(train_distribution_spec_class)
    if not isinstance(spec, distributions.DistributionSpec):
      raise ValueError(
        "YotoOptimizer.train_distribution_spec_class must give "
        f"a DistributionSpec, got {spec!r}."
      )
    spec.ranges(len(self.losses_names))  # Validates the number of losses.
    self.train_distribution_spec = spec
    self.weights_per_sample = weights_per_sample
    self.normalize_loss_weights = normalize_loss_weights
    self.balance_loss_scale = balance_loss_scale
    self.loss_scale_estimate = None
    self._conditioning = contract.LossConditioning.from_spec(
      self.losses_names, extra_inputs_preprocessing, spec
    )

  @property
  def conditioning(self):
    return self._conditioning

  def build_state(self):
    if not self.balance_loss_scale:
      return {}
    centre = self._conditioning.centring_offset()
    if self._conditioning.preprocessing != "log":
      centre = None  # That centre is of raw weights, not of their logs.
    self.loss_scale_estimate = loss_balance.LossScaleEstimate(
      len(self.losses_names), centre
    )
    return {"loss_scale_estimate": self.loss_scale_estimate}

  def sample_weights(self, batch_size, seed: tf.Tensor) -> tf.Tensor:
    """Draws raw training weights [batch_size, num_losses]."""
    rows = batch_size if self.weights_per_sample else 1
    weights = self.train_distribution_spec.sample(
      rows, len(self.losses_names), seed
    )
    return tf.broadcast_to(
      weights, tf.stack([batch_size, len(self.losses_names)])
    )

  def loss_weights(self, weights: tf.Tensor) -> tf.Tensor:
    """The weights that multiply the losses (optionally normalised)."""
    if not self.normalize_loss_weights:
      return weights
    log_mean = tf.reduce_mean(tf.math.log(weights), axis=-1, keepdims=True)
    return weights / tf.exp(log_mean)

  def train_losses(self, features, seed):
    weights_seed, problem_seed = tf.unstack(
      tf.random.experimental.stateless_split(seed, 2)
    )
    batch_size = tf.shape(next(iter(features.values())))[0]
    weights = self.sample_weights(batch_size, weights_seed)
    inputs_extra = self._conditioning.transform(weights)
    losses, metrics = self.problem.losses_and_metrics(
      features, inputs_extra, training=True, seed=problem_seed
    )
    stacked = base.stack_losses(losses, self.losses_names)
    total = tf.reduce_sum(self.loss_weights(weights) * stacked, axis=-1)
    if self.balance_loss_scale:
      if self.loss_scale_estimate is None:
        raise ValueError(
          "YotoOptimizer.balance_loss_scale needs its state: call "
          "build_state() inside the strategy's scope first."
        )
      total = self.loss_scale_estimate.balance(weights, total)
    return total, losses, metrics

  def eval_losses_and_metrics(self, features, weights, seed=None):
    num_weights = tf.shape(weights)[0]
    batch_size = tf.shape(next(iter(features.values())))[0]
    # All K weight vectors in one pass: the batch is tiled K times (k-major)
    # and row k*B + b is conditioned on weight vector k.
    tiled = {
      key: tf.tile(
        value,
        tf.concat([[num_weights], tf.ones([tf.rank(value) - 1], tf.int32)], 0),
      )
      for key, value in features.items()
    }
    inputs_extra = tf.repeat(
      self._conditioning.transform(weights), batch_size, axis=0
    )
    losses, metrics = self.problem.losses_and_metrics(
      tiled, inputs_extra, training=False, seed=seed
    )
    unstack = lambda x: tf.reshape(x, tf.stack([num_weights, batch_size]))
    losses = {k: unstack(v) for k, v in losses.items()}
    metrics = {k: unstack(v) for k, v in metrics.items()}
    return {
      **losses,
      **metrics,
      "full_loss": base.full_loss(losses, self.losses_names, weights),
    }
