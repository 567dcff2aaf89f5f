"""Balancing YOTO's per-example losses across the loss weights.

A YOTO batch mixes examples drawn at weights λ far apart, and an example's
full loss Σ_i λ_i L_i grows with its weights: in the compression
reproduction (BENCHMARKS.md §6) it is 77 times larger at the top of the λ
range than at the bottom, and still 5 times after `normalize_loss_weights`.
The gradient of the batch mean is then dominated by the examples with the
largest loss, and one
conditioned model learns the low end of the range from a small share of
every update (the symptom: its gap to the fixed-λ models is largest there).

`LossScaleEstimate` fits the expected full loss as a power law of the
weights, log E[loss | λ] ≈ c · φ(λ) with φ(λ) = [1, log λ_1 - o_1, ...,
log λ_n - o_n] (o: the centre of the training range, for a well-conditioned
fit), online: an exponential moving average of the least-squares statistics
ΦᵀΦ and Φᵀ log(loss), bias-corrected as Adam's moments are. `balance`
divides each example's loss by its estimate and multiplies it by the batch
mean of the estimates, both without gradient: every λ then contributes alike
to the gradient while the batch loss keeps its size. The estimate depends on
λ only, never on the example, so for each λ the minimiser of the expected
loss, which is what the conditioned model approximates, does not change;
only how updates are shared among the weights does.

The variables are created inside the distribution strategy's scope and
averaged over replicas on every update, and they are saved in the
checkpoint, so a resumed run continues the same estimate.
"""

from typing import Optional, Sequence

import tensorflow as tf

# Losses at or below this are fitted as this (the fit takes their log).
MIN_LOSS = 1e-6


class LossScaleEstimate(tf.Module):
  """An online power-law fit of the expected full loss against λ."""

  def __init__(
    self,
    num_losses: int,
    centre: Optional[Sequence[float]] = None,
    decay: float = 0.99,
    warmup_updates: int = 100,
    ridge: float = 1e-3,
  ):
    """Creates the (zero) statistics; call inside the strategy's scope.

    Args:
      num_losses: n, the width of a weight vector.
      centre: [n] subtracted from log λ in the features (the log of the
        training ranges' geometric centres); zeros when None.
      decay: of the moving averages; 0.99 averages about the last 100
        batches, enough for a few parameters, short enough to follow the
        loss as training lowers it.
      warmup_updates: batches seen before the estimate is used; until then
        every example's scale is 1 (the plain YOTO loss).
      ridge: added to the diagonal of ΦᵀΦ, so a weight whose range is tiny
        (a loss weight fixed at 1, say) leaves the fit solvable.
    """
    super().__init__(name="loss_scale_estimate")
    if not 0 < decay < 1:
      raise ValueError(f"decay must be in (0, 1), got {decay!r}.")
    if warmup_updates < 1:
      raise ValueError(
        f"warmup_updates must be at least 1, got {warmup_updates!r}."
      )
    self.num_losses = num_losses
    self.centre = tf.constant(
      [0.0] * num_losses if centre is None else list(centre), tf.float32
    )
    self.decay = decay
    self.warmup_updates = warmup_updates
    self.ridge = ridge
    size = num_losses + 1
    self.gram = _replica_mean_variable(tf.zeros([size, size]), "gram")
    self.moment = _replica_mean_variable(tf.zeros([size]), "moment")
    self.updates = _replica_mean_variable(tf.constant(0.0), "updates")

  def features(self, weights: tf.Tensor) -> tf.Tensor:
    """φ(λ): [B, n] raw weights -> [B, n + 1] (a 1, then centred log λ)."""
    logs = tf.math.log(tf.cast(weights, tf.float32)) - self.centre
    return tf.concat([tf.ones_like(logs[:, :1]), logs], axis=1)

  def coefficients(self) -> tf.Tensor:
    """c [n + 1] of the current fit (bias-corrected, ridge-regularised)."""
    correction = 1.0 - tf.pow(self.decay, tf.maximum(self.updates, 1.0))
    size = self.num_losses + 1
    gram = self.gram / correction + self.ridge * tf.eye(size)
    moment = self.moment / correction
    return tf.linalg.solve(gram, moment[:, tf.newaxis])[:, 0]

  def estimate(self, weights: tf.Tensor) -> tf.Tensor:
    """The expected full loss at each row of `weights` [B, n] -> [B];
    ones during the warm-up."""
    fitted = tf.exp(
      tf.linalg.matvec(self.features(weights), self.coefficients())
    )
    ready = self.updates >= self.warmup_updates
    return tf.where(ready, fitted, tf.ones_like(fitted))

  def update(self, weights: tf.Tensor, losses: tf.Tensor) -> None:
    """Adds a batch: `weights` [B, n], per-example full `losses` [B]."""
    phi = self.features(weights)
    targets = tf.math.log(tf.maximum(tf.cast(losses, tf.float32), MIN_LOSS))
    batch = tf.cast(tf.shape(phi)[0], tf.float32)
    gram = tf.matmul(phi, phi, transpose_a=True) / batch
    moment = tf.linalg.matvec(phi, targets, transpose_a=True) / batch
    mix = lambda old, new: self.decay * old + (1.0 - self.decay) * new
    self.gram.assign(mix(self.gram, gram))
    self.moment.assign(mix(self.moment, moment))
    self.updates.assign_add(1.0)

  def balance(self, weights: tf.Tensor, losses: tf.Tensor) -> tf.Tensor:
    """Per-example losses [B] rescaled so every λ weighs alike, then the
    fit updated with this batch; the rescaling carries no gradient."""
    scales = tf.stop_gradient(self.estimate(weights))
    self.update(weights, tf.stop_gradient(losses))
    return losses * (tf.reduce_mean(scales) / scales)


def _replica_mean_variable(initial: tf.Tensor, name: str) -> tf.Variable:
  """A non-trainable variable whose replica-context assignments are averaged
  over the replicas (every replica then holds the same value)."""
  return tf.Variable(
    initial,
    trainable=False,
    name=name,
    aggregation=tf.VariableAggregation.MEAN,
  )
