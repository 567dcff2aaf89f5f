"""The stylization network's blocks: conditional instance norm, reflect conv."""

import numpy as np
import pytest
import tensorflow as tf

from yoto.architectures import stylization_layers


def test_conditional_instance_norm_starts_near_the_identity():
  norm = stylization_layers.ConditionalInstanceNorm(
    hidden_size=32, name="norm_conditioning"
  )
  features = tf.random.normal([3, 5, 5, 4], seed=3) * 7 + 2
  conditioning_inputs = tf.random.normal([3, 12], seed=4)
  out = norm(features, conditioning_inputs)
  scales, shifts = norm.scales_and_shifts(conditioning_inputs)
  np.testing.assert_allclose(scales.numpy(), 1.0, atol=0.05)
  np.testing.assert_allclose(shifts.numpy(), 0.0, atol=0.05)
  mean, variance = tf.nn.moments(out, axes=[1, 2])
  np.testing.assert_allclose(mean.numpy(), 0.0, atol=0.05)
  np.testing.assert_allclose(variance.numpy(), 1.0, atol=0.1)
  # Its variables are conditioning ones by declaration, not by name.
  assert len(norm.conditioning_variables) == 6
  assert [v.ref() for v in norm.conditioning_variables] == [
    v.ref() for v in norm.trainable_variables
  ]


@pytest.mark.parametrize(
  "strides, expected", [(1, [2, 7, 9, 4]), (2, [2, 4, 5, 4])]
)
def test_reflect_conv_keeps_the_size_and_pads_by_reflection(strides, expected):
  conv = stylization_layers.ReflectConv(4, 3, strides, name="conv")
  constant = tf.fill([2, 7, 9, 3], 0.5)
  out = conv(constant)
  assert out.shape == expected
  # Reflected borders look like the inside: a constant image stays constant
  # (zero padding would darken the border).
  corner = out.numpy()[0, 0, 0]
  np.testing.assert_allclose(
    out.numpy(), np.broadcast_to(corner, expected), atol=1e-6
  )
  assert [v.name for v in conv.variables] == ["conv/conv_conv/kernel:0"]


def test_gated_inverse_std_is_the_usual_one_unless_the_map_is_flat():
  epsilon = 1e-5
  variance = tf.constant([0.0, 1e-12, 1e-3, 0.1, 4.0])
  gated = stylization_layers.gated_inverse_std(variance, epsilon).numpy()
  plain = tf.math.rsqrt(variance + epsilon).numpy()
  # Relative change epsilon / variance where the map has variation.
  np.testing.assert_allclose(gated[2:], plain[2:], rtol=1.1e-2)
  np.testing.assert_allclose(gated[3:], plain[3:], rtol=1.1e-4)
  # A flat map: zero instead of 1 / sqrt(epsilon) = 316.
  assert gated[0] == 0.0
  assert gated[1] < 1e-6 * plain[1]


def test_a_flat_map_normalizes_to_the_shift_and_passes_a_bounded_gradient():
  norm = stylization_layers.ConditionalInstanceNorm(
    hidden_size=8, name="norm_conditioning"
  )
  conditioning_inputs = tf.random.normal([2, 6], seed=1)
  textured = tf.random.normal([1, 6, 6, 4], seed=2)
  # float32 rounding leaves (x - mean) of order 1e-8 in a constant map.
  flat = tf.fill([1, 6, 6, 4], 0.3) * tf.ones([1, 6, 6, 4])
  features = tf.concat([textured, flat], axis=0)
  upstream = tf.random.normal([2, 6, 6, 4], seed=3)
  with tf.GradientTape() as tape:
    tape.watch(features)
    out = norm(features, conditioning_inputs)
    loss = tf.reduce_sum(out * upstream)
  gradient = tape.gradient(loss, features).numpy()
  _, shifts = norm.scales_and_shifts(conditioning_inputs)
  np.testing.assert_allclose(
    out.numpy()[1], np.broadcast_to(shifts.numpy()[1], [6, 6, 4]), atol=1e-6
  )
  # The plain normalization multiplies the flat map's gradient by
  # 1 / sqrt(epsilon).
  assert np.abs(gradient[1]).max() < 1e-3
  assert np.abs(gradient[0]).max() > 0.1


@pytest.mark.parametrize("epsilon", [0.0, -1e-3, float("nan"), float("inf")])
def test_a_non_positive_epsilon_is_refused_with_the_default(epsilon):
  with pytest.raises(ValueError, match="positive number.*0.001"):
    stylization_layers.ConditionalInstanceNorm(epsilon=epsilon)
