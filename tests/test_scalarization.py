"""Tests of LinearlyScalarizedOptimizer, the fixed-weight baseline."""

import numpy as np
import pytest
import tensorflow as tf

from fake_problem import LinearProblem
from yoto.optimizers import scalarization
from yoto.weights import distributions as d

FEATURES = {"x": tf.constant([[1.0, 3.0], [2.0, 2.0]])}
X = np.array([2.0, 2.0])


def _optimizer(weights):
  problem = LinearProblem()
  problem.initialize_model({}, None)
  return scalarization.LinearlyScalarizedOptimizer(problem, weights)


def test_train_loss_is_the_fixed_weighted_sum():
  optimizer = _optimizer({"a_loss": 3.0, "b_loss": 0.5})
  total, losses, _ = optimizer.train_losses(FEATURES, tf.constant([0, 0]))
  np.testing.assert_allclose(losses["a_loss"], X)
  np.testing.assert_allclose(total, 3.0 * X + 0.5 * 2 * X)
  assert not optimizer.conditioning.is_conditioned
  assert optimizer.num_conditioning_inputs is None


def test_weights_from_a_string_or_a_distribution():
  assert _optimizer("{'a_loss': 2.0, 'b_loss': 1.0}").weights == {
    "a_loss": 2.0,
    "b_loss": 1.0,
  }
  spec = d.DistributionSpec(
    d.DistributionType.UNIFORM, {"low": 2.0, "high": 3.0}
  )
  weights = _optimizer(spec).weights
  assert set(weights) == {"a_loss", "b_loss"}
  assert all(2.0 <= w <= 3.0 for w in weights.values())


def test_eval_is_the_single_model_at_every_weight():
  optimizer = _optimizer({"a_loss": 1.0, "b_loss": 1.0})
  values = optimizer.eval_losses_and_metrics(
    FEATURES, tf.constant([[1.0, 1.0], [10.0, 0.1]])
  )
  np.testing.assert_allclose(values["a_loss"], [X, X])
  np.testing.assert_allclose(
    values["full_loss"], [X + 2 * X, 10 * X + 0.1 * 2 * X], rtol=1e-6
  )


@pytest.mark.parametrize(
  "weights, message",
  [
    (None, "needs weights"),
    ({"a_loss": 1.0}, "missing"),
    ([{"a_loss": 1.0, "b_loss": 1.0}] * 2, "single weights dict"),
    ({"a_loss": -1.0, "b_loss": 1.0}, "negative"),
  ],
)
def test_bad_weights_are_rejected(weights, message):
  with pytest.raises(ValueError, match=message):
    _optimizer(weights)
