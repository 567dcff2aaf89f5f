"""The style-transfer losses against hand-computed values."""

import numpy as np
import pytest
import random_vgg
import tensorflow as tf

from yoto.architectures import vgg
from yoto.problems import style_losses


def test_gram_matrix_by_hand():
  # One example, H=1, W=2, C=2: F = [[1, 2], [3, 4]] (rows are positions).
  features = tf.constant([[[[1.0, 2.0], [3.0, 4.0]]]])
  gram = style_losses.gram_matrix(features).numpy()
  # FᵀF = [[1+9, 2+12], [2+12, 4+16]] = [[10, 14], [14, 20]], over H·W = 2.
  np.testing.assert_allclose(gram, [[[5.0, 7.0], [7.0, 10.0]]], atol=1e-6)


def test_content_loss_is_the_mean_squared_feature_difference():
  a = tf.constant(
    [[[[1.0, 2.0]], [[3.0, 4.0]]], [[[0.0, 0.0]], [[0.0, 0.0]]]]
  )  # [2, 2, 1, 2]
  b = tf.constant([[[[1.0, 0.0]], [[0.0, 4.0]]], [[[1.0, 1.0]], [[1.0, 1.0]]]])
  # Example 0: (0 + 4 + 9 + 0) / 4; example 1: 4 * 1 / 4.
  np.testing.assert_allclose(
    style_losses.content_loss(a, b).numpy(), [3.25, 1.0], atol=1e-6
  )


def test_style_loss_is_the_mean_squared_gram_difference():
  features = tf.constant([[[[1.0, 2.0], [3.0, 4.0]]]])  # Gram [[5,7],[7,10]].
  style_gram = tf.constant([[[4.0, 7.0], [5.0, 10.0]]])
  # Differences [[1, 0], [2, 0]]: (1 + 0 + 4 + 0) / 4.
  np.testing.assert_allclose(
    style_losses.style_loss(features, style_gram).numpy(), [1.25], atol=1e-6
  )


def test_total_variation_by_hand():
  image = tf.constant([[[[0.0], [1.0]], [[2.0], [4.0]]]])  # [1, 2, 2, 1]
  # Vertical differences 2, 3: mean 6.5; horizontal 1, 2: mean 2.5.
  np.testing.assert_allclose(
    style_losses.total_variation_loss(image).numpy(), [4.5], atol=1e-6
  )
  flat = tf.ones([3, 5, 4, 3])
  np.testing.assert_allclose(
    style_losses.total_variation_loss(flat).numpy(), [0, 0, 0]
  )


@pytest.fixture(name="loss_network", scope="module")
def loss_network_fixture():
  return vgg.Vgg16Features(random_vgg.random_vgg16_weights(), "block4_conv3")


def test_per_example_losses_vanish_at_their_targets(loss_network):
  content = tf.random.stateless_uniform([2, 24, 24, 3], seed=[0, 1])
  features = loss_network(content, style_losses.DEFAULT_STYLE_LAYERS)
  own_grams = style_losses.style_grams(
    features, style_losses.DEFAULT_STYLE_LAYERS
  )
  losses = style_losses.per_example_losses(
    loss_network, content, content, own_grams
  )
  assert (
    set(losses)
    == set(style_losses.loss_names(4))
    == {
      "content_loss",
      "style_loss_1",
      "style_loss_2",
      "style_loss_3",
      "style_loss_4",
      "total_variation_loss",
    }
  )
  for name in style_losses.loss_names(4)[:-1]:  # All but total variation.
    np.testing.assert_allclose(losses[name].numpy(), [0.0, 0.0], atol=1e-3)
  np.testing.assert_allclose(
    losses["total_variation_loss"].numpy(),
    style_losses.total_variation_loss(content).numpy(),
    rtol=1e-6,
  )
  assert float(tf.reduce_min(losses["total_variation_loss"])) > 0


def test_per_example_losses_pass_no_gradient_to_the_content(loss_network):
  content = tf.random.stateless_uniform([1, 16, 16, 3], seed=[2, 3])
  stylized = tf.random.stateless_uniform([1, 16, 16, 3], seed=[4, 5])
  grams = style_losses.style_grams(
    loss_network(content, style_losses.DEFAULT_STYLE_LAYERS),
    style_losses.DEFAULT_STYLE_LAYERS,
  )
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([content, stylized])
    loss = style_losses.per_example_losses(
      loss_network, stylized, content, grams
    )["content_loss"]
  assert tape.gradient(loss, content) is None
  assert float(tf.reduce_sum(tf.abs(tape.gradient(loss, stylized)))) > 0
