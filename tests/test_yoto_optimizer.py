"""Tests of YotoOptimizer: sampled weights, conditioning inputs and losses."""

import numpy as np
import pytest
import tensorflow as tf

from fake_problem import LinearProblem
from yoto.optimizers import yoto
from yoto.weights import distributions as d

SPEC = d.DistributionSpec(
  d.DistributionType.LOG_UNIFORM,
  [{"low": 0.5, "high": 8.0}, {"low": 1.0, "high": 4.0}],
)


def _optimizer(**kwargs):
  problem = LinearProblem()
  problem.initialize_model({}, 2)
  args = dict(
    train_distribution_spec_class=SPEC,
    extra_inputs_preprocessing=d.TransformType.LOG,
  )
  args.update(kwargs)
  return yoto.YotoOptimizer(problem, **args)


FEATURES = {"x": tf.constant([[1.0, 3.0], [2.0, 2.0], [0.0, 4.0]])}
SEED = tf.constant([5, 6], tf.int64)
X = np.array([2.0, 2.0, 2.0])


def test_loss_names_are_sorted():
  assert _optimizer().losses_names == ("a_loss", "b_loss")


def test_train_loss_is_the_hand_computed_weighted_sum():
  optimizer = _optimizer()
  total, losses, _ = optimizer.train_losses(FEATURES, SEED)
  weights_seed = tf.random.experimental.stateless_split(SEED, 2)[0]
  weights = optimizer.sample_weights(3, weights_seed).numpy()
  # a = x * (1 + sum(log w)), b = 2x; loss = w_a * a + w_b * b.
  a = X * (1 + np.log(weights).sum(axis=1))
  np.testing.assert_allclose(losses["a_loss"], a, rtol=1e-5)
  np.testing.assert_allclose(
    total, weights[:, 0] * a + weights[:, 1] * 2 * X, rtol=1e-5
  )
  assert len({tuple(row) for row in weights}) == 3  # Per-example samples.


def test_per_batch_sampling_gives_identical_rows():
  optimizer = _optimizer(weights_per_sample=False)
  weights = optimizer.sample_weights(4, SEED).numpy()
  assert weights.shape == (4, 2)
  assert np.all(weights == weights[0])


def test_identity_preprocessing_feeds_raw_weights():
  optimizer = _optimizer(extra_inputs_preprocessing=d.TransformType.IDENTITY)
  _, losses, _ = optimizer.train_losses(FEATURES, SEED)
  weights = optimizer.sample_weights(
    3, tf.random.experimental.stateless_split(SEED, 2)[0]
  ).numpy()
  np.testing.assert_allclose(
    losses["a_loss"], X * (1 + weights.sum(axis=1)), rtol=1e-5
  )


def test_normalized_loss_weights_have_unit_geometric_mean():
  optimizer = _optimizer(normalize_loss_weights=True)
  weights = tf.constant([[2.0, 8.0], [1.0, 1.0]])
  normalized = optimizer.loss_weights(weights).numpy()
  np.testing.assert_allclose(normalized, [[0.5, 2.0], [1.0, 1.0]], rtol=1e-6)


def test_eval_returns_each_loss_for_given_weights_in_one_pass():
  optimizer = _optimizer()
  weights = tf.constant([[1.0, 1.0], [4.0, 2.0]])
  values = optimizer.eval_losses_and_metrics(FEATURES, weights)
  assert values["a_loss"].shape == [2, 3]
  a = np.stack(
    [X * (1 + np.log([1.0, 1.0]).sum()), X * (1 + np.log([4.0, 2.0]).sum())]
  )
  np.testing.assert_allclose(values["a_loss"], a, rtol=1e-5)
  np.testing.assert_allclose(values["b_loss"], [2 * X, 2 * X], rtol=1e-6)
  np.testing.assert_allclose(
    values["full_loss"], [a[0] + 2 * X, 4 * a[1] + 2 * 2 * X], rtol=1e-5
  )
  np.testing.assert_allclose(values["x_metric"], [X, X])


def test_conditioning_records_the_contract():
  conditioning = _optimizer().conditioning
  assert conditioning.loss_names == ("a_loss", "b_loss")
  assert conditioning.preprocessing == "log"
  assert conditioning.ranges == {"a_loss": (0.5, 8.0), "b_loss": (1.0, 4.0)}


def test_missing_or_mismatched_spec_is_rejected():
  problem = LinearProblem()
  with pytest.raises(ValueError, match="train_distribution_spec_class"):
    yoto.YotoOptimizer(problem)
  three = d.DistributionSpec(
    d.DistributionType.UNIFORM, [{"low": 0.0, "high": 1.0}] * 3
  )
  with pytest.raises(ValueError, match="3 entries but the problem has 2"):
    yoto.YotoOptimizer(problem, train_distribution_spec_class=three)


def test_balancing_the_loss_scale_needs_its_state_and_starts_as_plain_yoto():
  plain = _optimizer()
  balanced = _optimizer(balance_loss_scale=True)
  with pytest.raises(ValueError, match="build_state"):
    balanced.train_losses(FEATURES, SEED)
  assert plain.build_state() == {}
  state = balanced.build_state()
  assert list(state) == ["loss_scale_estimate"]
  # The fit is centred on the training range's centre in log λ.
  np.testing.assert_allclose(
    state["loss_scale_estimate"].centre,
    [np.log(np.sqrt(0.5 * 8.0)), np.log(2.0)],
    rtol=1e-6,
  )
  # During the warm-up every scale is 1: the plain YOTO loss.
  total, _, _ = balanced.train_losses(FEATURES, SEED)
  np.testing.assert_allclose(
    total, plain.train_losses(FEATURES, SEED)[0], rtol=1e-6
  )
  assert int(state["loss_scale_estimate"].updates) == 1
