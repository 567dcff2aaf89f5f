"""The style networks: embedding shapes, what is trained and what is saved."""

import os
import tempfile

import numpy as np
import pytest
import random_vgg
import tensorflow as tf

from yoto.architectures import style_encoders
from yoto.architectures import vgg


@pytest.fixture(name="random_vgg", scope="module")
def random_vgg_fixture():
  return vgg.Vgg16Features(random_vgg.random_vgg16_weights(), "block4_conv3")


@pytest.mark.parametrize("size", [16, 40])
def test_loss_network_style_encoder_shapes(random_vgg, size):
  encoder = style_encoders.LossNetworkStyleEncoder(
    random_vgg, embedding_size=100
  )
  frozen = encoder.frozen_features(tf.random.uniform([3, size, size, 3]))
  assert frozen.shape == [3, encoder.num_frozen_features] == [3, 1920]
  assert encoder(frozen).shape == [3, 100]
  # Only the bottleneck is trainable; the loss network is not tracked.
  assert [v.name.split("/")[-1] for v in encoder.trainable_variables] == [
    "kernel:0",
    "bias:0",
  ]


def test_centred_features_are_centred_on_the_training_styles(random_vgg):
  encoder = style_encoders.LossNetworkStyleEncoder(
    random_vgg, embedding_size=4, centre_features=True
  )
  frozen = encoder.frozen_features(tf.random.uniform([5, 16, 16, 3], seed=2))
  bottleneck_only = encoder(frozen)  # Built; the identity centring so far.
  kernel, bias = encoder.bottleneck.get_weights()
  np.testing.assert_allclose(bottleneck_only, frozen @ kernel + bias, rtol=1e-4)
  encoder.adapt(frozen[:3])  # Three "training styles".
  mean = frozen[:3].numpy().mean(0)
  scale = np.sqrt(np.mean((frozen[:3].numpy() - mean) ** 2))
  np.testing.assert_allclose(
    encoder(frozen),
    (frozen - mean) / scale @ kernel + bias,
    rtol=1e-3,
    atol=1e-4,
  )
  # The training styles' centred features have mean 0 and unit rms.
  centred = (frozen[:3] - encoder.feature_mean) / encoder.feature_scale
  np.testing.assert_allclose(np.mean(centred, 0), 0, atol=1e-4)
  np.testing.assert_allclose(np.sqrt(np.mean(centred**2)), 1, rtol=1e-4)
  # Saved with the model, not trained.
  assert len(encoder.non_trainable_variables) == 2
  assert len(encoder.trainable_variables) == 2
  # Without the option, adapt changes nothing and there is nothing to save.
  plain = style_encoders.LossNetworkStyleEncoder(random_vgg, embedding_size=4)
  plain.adapt(frozen)
  assert plain.feature_mean is None and not plain.non_trainable_variables


def test_inception_style_encoder_shapes_without_weights_file():
  encoder = style_encoders.InceptionV3StyleEncoder(
    weights=None, image_size=75, embedding_size=100
  )
  frozen = encoder.frozen_features(tf.random.uniform([2, 40, 56, 3]))
  assert frozen.shape == [2, 768]
  assert encoder(frozen).shape == [2, 100]
  with pytest.raises(ValueError, match="does not exist"):
    style_encoders.InceptionV3StyleEncoder(weights="/no/such/inception.h5")


def test_fine_tuned_inception_is_trained_and_saved_frozen_one_is_not():
  frozen = style_encoders.InceptionV3StyleEncoder(weights=None, image_size=75)
  frozen(frozen.frozen_features(tf.random.uniform([1, 40, 40, 3])))
  assert [v.name.split("/")[-2] for v in frozen.trainable_variables] == [
    "style_bottleneck"
  ] * 2
  assert "inception_v3" in frozen.frozen_networks
  tuned = style_encoders.InceptionV3StyleEncoder(
    weights=None, image_size=75, fine_tune=True
  )
  images = tuned.frozen_features(tf.random.uniform([2, 40, 56, 3]))
  assert images.shape == [2, 75, 75, 3]  # Inception's inputs, in [-1, 1].
  assert float(tf.reduce_min(images)) >= -1 and tuned.frozen_networks == {}
  with tf.GradientTape() as tape:
    embedding = tuned(images, training=True)
    loss = tf.reduce_sum(tf.square(embedding))
  assert embedding.shape == [2, 100]
  inception = [
    v for v in tuned.trainable_variables if "style_bottleneck" not in v.name
  ]
  # Inception-v3 up to mixed7 has millions of trainable parameters.
  assert sum(int(np.prod(v.shape)) for v in inception) > 1_000_000
  gradients = tape.gradient(loss, inception)
  assert all(g is not None for g in gradients)
  # Part of whatever checkpoints the encoder.
  saved = tf.train.Checkpoint(encoder=tuned)
  assert len(
    tf.train.list_variables(
      saved.write(os.path.join(tempfile.mkdtemp(), "ckpt"))
    )
  ) > len(inception)
