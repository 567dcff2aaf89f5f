"""Tests of yoto.optimizers.loss_balance: the online power-law fit of the
expected loss against λ, its warm-up, the rescaling of a batch (values and
gradients), replica averaging under a mirrored strategy, and checkpointing."""

import numpy as np
import pytest
import tensorflow as tf

from yoto.optimizers import loss_balance

RNG = np.random.default_rng(3)


def _power_law(weights):
  """3 λ_1^0.7 λ_2^-0.2: the expected loss the tests' fits must recover."""
  return 3.0 * weights[:, 0] ** 0.7 * weights[:, 1] ** -0.2


def _weights(batch=8):
  return np.exp(
    RNG.uniform(np.log([1e-3, 0.5]), np.log([1.0, 2.0]), size=(batch, 2))
  ).astype(np.float32)


def _fitted(estimate, updates=300):
  for _ in range(updates):
    weights = _weights()
    estimate.update(weights, _power_law(weights))
  return estimate


def test_the_fit_recovers_a_power_law():
  estimate = _fitted(loss_balance.LossScaleEstimate(2, ridge=1e-7))
  weights = _weights(16)
  np.testing.assert_allclose(
    estimate.estimate(weights), _power_law(weights), rtol=1e-2
  )
  # c = [log 3, 0.7, -0.2] with an uncentred fit.
  np.testing.assert_allclose(
    estimate.coefficients(), [np.log(3.0), 0.7, -0.2], atol=1e-2
  )


def test_a_centred_fit_predicts_the_same_losses():
  centre = [np.log(0.03), 0.0]
  estimate = _fitted(loss_balance.LossScaleEstimate(2, centre, ridge=1e-7))
  weights = _weights(16)
  np.testing.assert_allclose(
    estimate.estimate(weights), _power_law(weights), rtol=1e-2
  )


def test_every_scale_is_one_during_the_warm_up():
  estimate = loss_balance.LossScaleEstimate(2, warmup_updates=5)
  for _ in range(4):
    weights = _weights()
    estimate.update(weights, _power_law(weights))
  np.testing.assert_array_equal(estimate.estimate(_weights()), 1.0)
  estimate.update(weights, _power_law(weights))
  assert not np.allclose(estimate.estimate(_weights()), 1.0)


def test_balanced_losses_weigh_alike_and_keep_the_batch_mean():
  estimate = _fitted(loss_balance.LossScaleEstimate(2, ridge=1e-7))
  weights = _weights()
  losses = tf.Variable(_power_law(weights))
  with tf.GradientTape() as tape:
    balanced = estimate.balance(weights, losses)
    total = tf.reduce_sum(balanced)
  # Each example's loss is what the fit expects, so all become the mean.
  np.testing.assert_allclose(balanced, np.mean(losses), rtol=2e-2)
  # The rescaling has no gradient of its own: d total / d loss_b = mean / L_b.
  np.testing.assert_allclose(
    tape.gradient(total, losses), np.mean(losses) / losses.numpy(), rtol=2e-2
  )
  assert int(estimate.updates) == 301  # The batch joined the fit.


def test_bad_settings_are_refused():
  with pytest.raises(ValueError, match="decay"):
    loss_balance.LossScaleEstimate(2, decay=1.0)
  with pytest.raises(ValueError, match="warmup_updates"):
    loss_balance.LossScaleEstimate(2, warmup_updates=0)


def test_replicas_update_one_estimate_with_their_mean_statistics():
  strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
  with strategy.scope():
    estimate = loss_balance.LossScaleEstimate(2, decay=0.5)
  halves = [_weights(4), _weights(4)]

  def update(context_weights):
    estimate.update(context_weights, _power_law(context_weights))

  per_replica = strategy.experimental_distribute_values_from_function(
    lambda context: tf.constant(halves[context.replica_id_in_sync_group])
  )
  tf.function(lambda: strategy.run(update, args=(per_replica,)))()
  grams = []
  for half in halves:
    phi = np.concatenate([np.ones([4, 1]), np.log(half)], axis=1)
    grams.append(phi.T @ phi / 4)
  np.testing.assert_allclose(
    estimate.gram.numpy(), 0.5 * np.mean(grams, axis=0), rtol=1e-4
  )
  assert estimate.updates.numpy() == 1.0


def test_the_estimate_is_saved_and_restored(tmp_path):
  estimate = _fitted(loss_balance.LossScaleEstimate(2), updates=150)
  path = tf.train.Checkpoint(estimate=estimate).save(str(tmp_path / "ckpt"))
  restored = loss_balance.LossScaleEstimate(2)
  tf.train.Checkpoint(estimate=restored).restore(path).assert_consumed()
  weights = _weights()
  np.testing.assert_array_equal(
    restored.estimate(weights), estimate.estimate(weights)
  )
