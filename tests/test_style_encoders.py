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
