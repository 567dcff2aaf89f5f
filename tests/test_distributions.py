"""Tests of yoto.weights.distributions: sampling, parsing and errors."""

import numpy as np
import pytest
from scipy import stats
import tensorflow as tf

from yoto.weights import distributions as d

LOG_UNIFORM = d.DistributionType.LOG_UNIFORM
UNIFORM = d.DistributionType.UNIFORM
NAMES = ("kl_loss", "reconstruction_loss")


def _spec(params, kind=LOG_UNIFORM, transform=d.TransformType.IDENTITY):
  return d.DistributionSpec(kind, params, transform)


def _sample(spec, rows, cols=2, seed=(1, 2)):
  return spec.sample(rows, cols, tf.constant(seed, tf.int64)).numpy()


def test_samples_respect_each_loss_range():
  spec = _spec([{"low": 0.5, "high": 512.0}, {"low": 0.999, "high": 1.001}])
  samples = _sample(spec, 5000)
  assert samples.shape == (5000, 2)
  assert samples[:, 0].min() >= 0.5 and samples[:, 0].max() <= 512.0
  assert samples[:, 1].min() >= 0.999 and samples[:, 1].max() <= 1.001
  # The range is actually covered, not just respected.
  assert samples[:, 0].min() < 0.6 and samples[:, 0].max() > 400


def test_one_dict_applies_to_every_loss():
  samples = _sample(_spec({"low": 2.0, "high": 3.0}, UNIFORM), 1000, cols=3)
  assert samples.shape == (1000, 3)
  assert samples.min() >= 2.0 and samples.max() <= 3.0


def test_log_uniform_is_uniform_in_log_space():
  samples = _sample(_spec({"low": 0.5, "high": 512.0}), 4000, cols=1)[:, 0]
  unit = (np.log(samples) - np.log(0.5)) / (np.log(512.0) - np.log(0.5))
  assert stats.kstest(unit, "uniform").pvalue > 0.01
  # Plain uniform samples on the same interval fail the same test.
  plain = _sample(_spec({"low": 0.5, "high": 512.0}, UNIFORM), 4000, cols=1)[
    :, 0
  ]
  plain_unit = (np.log(plain) - np.log(0.5)) / (np.log(512.0) - np.log(0.5))
  assert stats.kstest(plain_unit, "uniform").pvalue < 1e-6


def test_uniform_is_uniform_in_linear_space():
  samples = _sample(_spec({"low": 1.0, "high": 3.0}, UNIFORM), 4000, cols=1)
  assert stats.kstest((samples[:, 0] - 1.0) / 2.0, "uniform").pvalue > 0.01


def test_log_transform_is_applied_to_samples():
  spec = _spec({"low": 1.0, "high": 8.0}, transform=d.TransformType.LOG)
  raw = _sample(_spec({"low": 1.0, "high": 8.0}), 10)
  np.testing.assert_allclose(_sample(spec, 10), np.log(raw), rtol=1e-6)


def test_sampling_is_reproducible_and_differs_between_seeds():
  spec = _spec({"low": 0.5, "high": 512.0})
  np.testing.assert_array_equal(
    _sample(spec, 8, seed=(3, 4)), _sample(spec, 8, seed=(3, 4))
  )
  step_a = _sample(spec, 8, seed=(3, 4))
  step_b = _sample(spec, 8, seed=(3, 5))
  assert not np.allclose(step_a, step_b)


def test_replicas_and_steps_get_different_samples_via_fold_in():
  spec = _spec({"low": 0.5, "high": 512.0})
  base = tf.constant([0, 7], tf.int64)
  per_replica = [
    spec.sample(4, 2, tf.random.experimental.stateless_fold_in(base, r)).numpy()
    for r in range(2)
  ]
  assert not np.allclose(per_replica[0], per_replica[1])


@pytest.mark.parametrize(
  "params, message",
  [
    ({"low": 3.0, "high": 3.0}, "low < high"),
    ({"low": 4.0, "high": 3.0}, "low < high"),
    ({"low": 0.0, "high": 3.0}, "positive"),
    ({"low": -1.0, "high": 3.0}, "positive"),
    ({"low": 1.0}, "'low' and 'high'"),
    ([], "non-empty"),
  ],
)
def test_bad_bounds_raise_clear_errors(params, message):
  with pytest.raises(ValueError, match=message):
    _spec(params)


def test_uniform_allows_zero_lower_bound():
  assert _spec({"low": 0.0, "high": 1.0}, UNIFORM).ranges(1) == [(0.0, 1.0)]


def test_wrong_number_of_per_loss_params_is_rejected():
  spec = _spec([{"low": 1.0, "high": 2.0}] * 3)
  with pytest.raises(ValueError, match="3 entries but the problem has 2"):
    spec.ranges(2)


def test_non_enum_types_are_rejected():
  with pytest.raises(ValueError, match="distribution_type"):
    d.DistributionSpec("LOG_UNIFORM", {"low": 1.0, "high": 2.0})
  with pytest.raises(ValueError, match="transform"):
    d.DistributionSpec(LOG_UNIFORM, {"low": 1.0, "high": 2.0}, "LOG")


def test_samples_as_dicts_from_every_accepted_form():
  weights = {"kl_loss": 4.0, "reconstruction_loss": 1.0}
  assert d.get_samples_as_dicts(weights, names=NAMES) == [weights]
  assert d.get_samples_as_dicts([weights, weights], names=NAMES) == [
    weights,
    weights,
  ]
  assert d.get_samples_as_dicts(str(weights), names=NAMES) == [weights]
  assert d.get_samples_as_dicts(str([weights]), names=NAMES) == [weights]
  spec = _spec([{"low": 0.5, "high": 512.0}, {"low": 0.999, "high": 1.001}])
  for form in (spec, lambda: spec):
    sampled = d.get_samples_as_dicts(form, num_samples=5, names=NAMES)
    assert len(sampled) == 5
    assert all(set(s) == set(NAMES) for s in sampled)
    assert all(0.5 <= s["kl_loss"] <= 512 for s in sampled)
  # Reproducible for a seed.
  assert d.get_samples_as_dicts(
    spec, 3, NAMES, seed=1
  ) == d.get_samples_as_dicts(spec, 3, NAMES, seed=1)


@pytest.mark.parametrize(
  "spec, message",
  [
    ({"kl_loss": 1.0}, "missing \\['reconstruction_loss'\\]"),
    (
      {"kl_loss": 1.0, "reconstruction_loss": 1.0, "other": 2.0},
      "unknown \\['other'\\]",
    ),
    ([], "non-empty"),
    ([1.0, 2.0], "only dicts"),
    ("{'kl_loss': 1.0", "Could not parse"),
    ("__import__('os').system('true')", "Could not parse"),
    (42, "DistributionSpec"),
    ({"kl_loss": "big", "reconstruction_loss": 1.0}, "must be a number"),
  ],
)
def test_bad_weight_specs_raise_clear_errors(spec, message):
  with pytest.raises(ValueError, match=message):
    d.get_samples_as_dicts(spec, names=NAMES)


def test_distribution_needs_names_to_make_dicts():
  with pytest.raises(ValueError, match="loss names"):
    d.get_samples_as_dicts(_spec({"low": 1.0, "high": 2.0}))


def test_weights_matrix_follows_sorted_names():
  matrix = d.weights_matrix(
    [
      {"reconstruction_loss": 1.0, "kl_loss": 4.0},
      {"reconstruction_loss": 2.0, "kl_loss": 8.0},
    ],
    ("reconstruction_loss", "kl_loss"),
  )
  np.testing.assert_array_equal(matrix, [[4.0, 1.0], [8.0, 2.0]])
