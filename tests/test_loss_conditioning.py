"""Tests of the conditioning contract: raw weights -> inputs_extra."""

import json

import numpy as np
import pytest
import tensorflow as tf

from yoto.weights import contract

CONTRACT = contract.LossConditioning(
  ("kl_loss", "reconstruction_loss"),
  "log",
  {"kl_loss": (0.5, 512.0), "reconstruction_loss": (0.999, 1.001)},
)


def test_a_single_vector_is_broadcast_and_logged():
  extra = CONTRACT.weights_to_inputs_extra([4.0, 1.0], batch_size=3)
  np.testing.assert_allclose(extra, np.log([[4.0, 1.0]] * 3), rtol=1e-6)


def test_per_example_weights_are_kept():
  weights = [[0.5, 1.0], [512.0, 1.0]]
  extra = CONTRACT.weights_to_inputs_extra(weights)
  np.testing.assert_allclose(extra, np.log(weights), rtol=1e-6)


def test_the_bounds_themselves_are_accepted_despite_float32_rounding():
  extra = CONTRACT.weights_to_inputs_extra([[0.5, 0.999], [512.0, 1.001]])
  assert extra.shape == [2, 2]


@pytest.mark.parametrize(
  "weights, message",
  [
    ([0.0, 1.0], "must be positive"),
    ([-2.0, 1.0], "must be positive"),
    ([1024.0, 1.0], "outside the training range"),
    ([0.1, 1.0], "outside the training range"),
    ([1.0, 1.0, 1.0], "must have shape \\[2\\]"),
    (3.0, "must have shape \\[2\\]"),
  ],
)
def test_bad_weights_raise_clear_errors(weights, message):
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    CONTRACT.weights_to_inputs_extra(weights)


def test_checks_also_run_inside_a_tf_function_with_unknown_rank():
  fn = tf.function(
    lambda w: CONTRACT.weights_to_inputs_extra(w, batch_size=2),
    input_signature=[tf.TensorSpec(None, tf.float32)],
  )
  assert fn(tf.constant([2.0, 1.0])).shape == [2, 2]
  with pytest.raises(tf.errors.InvalidArgumentError, match="positive"):
    fn(tf.constant([[-1.0, 1.0]]))


def test_unconditioned_contract_skips_range_but_still_needs_positive():
  fixed = contract.LossConditioning(
    ("a", "b"), fixed_weights={"a": 1.0, "b": 2.0}
  )
  assert not fixed.is_conditioned
  fixed.weights_to_inputs_extra([1e6, 1.0], check_range=True)
  with pytest.raises(tf.errors.InvalidArgumentError, match="positive"):
    fixed.weights_to_inputs_extra([0.0, 1.0])


def test_contract_round_trips_through_json():
  record = json.loads(CONTRACT.to_json())
  assert record["loss_names"] == ["kl_loss", "reconstruction_loss"]
  assert record["preprocessing"] == "log"
  assert record["ranges"]["kl_loss"] == [0.5, 512.0]


@pytest.mark.parametrize(
  "weights",
  [
    [float("nan"), 1.0],
    [float("inf"), 1.0],
    [[2.0, 1.0], [2.0, float("-inf")]],
  ],
)
def test_nan_and_inf_weights_are_named_as_such(weights):
  with pytest.raises(tf.errors.InvalidArgumentError, match="must be finite"):
    CONTRACT.weights_to_inputs_extra(weights, batch_size=2)


def test_a_fixed_weight_contract_also_rejects_inf():
  fixed = contract.LossConditioning(
    ("a", "b"), fixed_weights={"a": 1.0, "b": 2.0}
  )
  with pytest.raises(tf.errors.InvalidArgumentError, match="must be finite"):
    fixed.weights_to_inputs_extra([float("inf"), 1.0], check_range=False)


def test_weights_for_a_batch_of_another_size_are_rejected():
  weights = [[2.0, 1.0]] * 3
  assert CONTRACT.weights_to_inputs_extra(weights, batch_size=3).shape == [3, 2]
  with pytest.raises(
    tf.errors.InvalidArgumentError,
    match="one weight vector per example for a batch of a different size",
  ):
    CONTRACT.weights_to_inputs_extra(weights, batch_size=2)


def test_from_json_reads_back_to_json():
  assert contract.LossConditioning.from_json(CONTRACT.to_json()) == CONTRACT
  fixed = contract.LossConditioning(
    ("a", "b"), fixed_weights={"a": 1.0, "b": 2.0}
  )
  assert contract.LossConditioning.from_json(fixed.to_json()) == fixed


def test_from_json_reads_a_modules_metadata_and_ignores_other_keys():
  metadata = dict(CONTRACT.to_dict(), problem="ConditionalVaeProblem")
  assert contract.LossConditioning.from_json(json.dumps(metadata)) == CONTRACT


def test_from_dict_reads_a_parsed_metadata_dict():
  metadata = dict(CONTRACT.to_dict(), problem="ConditionalVaeProblem")
  assert contract.LossConditioning.from_dict(metadata) == CONTRACT
  with pytest.raises(ValueError, match="loss_names"):
    contract.LossConditioning.from_dict({"ranges": {}})


def test_within_range_is_one_test_for_floats_arrays_and_tensors():
  slack = contract.LossConditioning.RANGE_TOLERANCE
  values = [
    0.5 * (1 - 2 * slack),
    0.5 * (1 - slack / 2),
    8.0,
    512.0 * (1 + slack / 2),
    512.0 * (1 + 2 * slack),
  ]
  expected = [False, True, True, True, False]
  assert [
    bool(contract.within_range(v, 0.5, 512.0)) for v in values
  ] == expected
  np.testing.assert_array_equal(
    contract.within_range(np.array(values), 0.5, 512.0), expected
  )
  np.testing.assert_array_equal(
    contract.within_range(tf.constant(values, tf.float64), 0.5, 512.0), expected
  )
  assert contract.within_range(2.0 * (1 + slack / 2), 2.0, 2.0)
  assert not contract.within_range(2.0 * (1 + 2 * slack), 2.0, 2.0)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"ranges": {}}'])
def test_from_json_rejects_what_is_not_a_contract(text):
  with pytest.raises(ValueError, match="contract"):
    contract.LossConditioning.from_json(text)


def test_the_centring_offset_is_the_log_of_the_geometric_centre():
  np.testing.assert_allclose(
    CONTRACT.centring_offset(), [np.log(16.0), 0.0], atol=1e-6
  )
  identity = contract.LossConditioning(("a",), "identity", {"a": (1.0, 3.0)})
  assert identity.centring_offset() == (2.0,)
  assert contract.LossConditioning(("a",)).centring_offset() is None


# Log-uniform ranges with round geometric centres: sqrt(1e-3 * 1e-1) = 1e-2
# and sqrt(4 * 16) = 8, so 'centre' is [log 1e-2, log 8].
LOG_RANGES = contract.LossConditioning(
  ("distortion", "rate"),
  "log",
  {"distortion": (1e-3, 1e-1), "rate": (4.0, 16.0)},
)


def _resolve(offset, num_inputs=2, conditioning=LOG_RANGES):
  return contract.resolve_input_offset(
    offset, num_inputs, conditioning, "Problem", LOG_RANGES.loss_names
  )


def test_centre_resolves_to_the_log_of_each_range_geometric_centre():
  resolved = _resolve("centre")
  assert isinstance(resolved, tuple)
  np.testing.assert_allclose(resolved, [-4.605170186, 2.079441542], atol=1e-8)


def test_numbers_and_none_resolve_to_themselves():
  assert _resolve([-4, 0.5]) == (-4.0, 0.5)
  assert _resolve(None) is None
  assert _resolve(None, conditioning=None) is None


def test_an_unconditioned_model_ignores_the_offset():
  # Numbers are kept as configured (and unchecked); 'centre' has no inputs
  # to centre, so it needs no training ranges.
  assert _resolve([1.0, 2.0, 3.0], num_inputs=None) == (1.0, 2.0, 3.0)
  assert _resolve("centre", num_inputs=None, conditioning=None) is None


@pytest.mark.parametrize(
  "offset, num_inputs, conditioning, message",
  [
    ("center", 2, LOG_RANGES, r"'center' is not understood: write 'centre'"),
    ("centre", 2, None, "none are known here.*write one number per loss"),
    (
      "centre",
      2,
      contract.LossConditioning(("distortion", "rate"), "log"),
      "none are known here",
    ),
    ("centre", 3, LOG_RANGES, "'centre' gives one entry per loss.*has 3"),
    ([1.0], 2, LOG_RANGES, r"has 1 entries but inputs_extra has 2"),
  ],
)
def test_a_bad_offset_says_what_to_write_instead(
  offset, num_inputs, conditioning, message
):
  with pytest.raises(ValueError, match=message):
    _resolve(offset, num_inputs, conditioning)


def test_an_unknown_string_is_rejected_before_the_ranges_are_known():
  with pytest.raises(ValueError, match="Problem.conditioning_input_offset"):
    contract.check_input_offset("middle", None, "Problem", ("a", "b"))
  assert contract.check_input_offset("centre", 2, "Problem", ("a", "b")) == (
    "centre"
  )
