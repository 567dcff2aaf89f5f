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
