"""A plain Keras fixed-β VAE training step: the speed reference.

DESIGN.md asks that a YOTO training step be no slower than "a plain Keras
fixed-β training step of the same architecture". This module writes that step
the way a Keras user would: `tf.keras.Sequential` encoder and decoder of the
same layers as a built `ConditionalConvnet` (read from its attributes, so the
parameter counts match), the β-VAE loss in a few lines of TensorFlow (no TFP),
Keras Adam with the same learning rate and weight decay, and one
`tf.function` per step.
"""

import math
from typing import Callable

import tensorflow as tf

from yoto.training import training_state as state_lib

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _conv_blocks(net, transposed: bool):
  """The (transposed) convolutions and leaky ReLUs of `net`'s blocks."""
  layers = []
  blocks = range(net.num_blocks)
  for position, block in enumerate(reversed(blocks) if transposed else blocks):
    channels = net.base_num_channels * 2**block
    strided = net.layers_per_block - 1 if transposed else 0
    for i in range(net.layers_per_block):
      if i > 0:
        layers.append(tf.keras.layers.LeakyReLU(net.alpha))
      conv = (
        tf.keras.layers.Conv2DTranspose
        if transposed
        else tf.keras.layers.Conv2D
      )
      layers.append(
        conv(channels, 3, strides=2 if i == strided else 1, padding="same")
      )
    if transposed or position < net.num_blocks - 1:
      layers.append(tf.keras.layers.LeakyReLU(net.alpha))
  return layers


def _dense_stack(sizes):
  layers = []
  for i, size in enumerate(sizes):
    if i > 0:
      layers.append(tf.keras.layers.LeakyReLU(0.2))
    layers.append(tf.keras.layers.Dense(size))
  return layers


def keras_encoder(net, image_shape) -> tf.keras.Sequential:
  """The encoder `net` (a built ConditionalConvnet) as a Sequential model."""
  model = tf.keras.Sequential(
    [tf.keras.Input(image_shape)]
    + _conv_blocks(net, transposed=False)
    + [tf.keras.layers.Flatten()]
    + _dense_stack(net.fc_layer_sizes)
  )
  return model


def keras_decoder(net, latent_dimensions: int) -> tf.keras.Sequential:
  """The decoder `net` (a built ConditionalConvnet) as a Sequential model."""
  return tf.keras.Sequential(
    [tf.keras.Input([latent_dimensions])]
    + _dense_stack(net.fc_layer_sizes)
    + [tf.keras.layers.Reshape(net.upconv_reshape_size)]
    + _conv_blocks(net, transposed=True)
    + [tf.keras.layers.Conv2D(net.channels_out, 3, padding="same")]
  )


class KerasVae:
  """The plain-Keras twin of a built fixed-weight `TrainingState`."""

  def __init__(
    self, state: state_lib.TrainingState, image_shape, beta: float = 8.0
  ):
    problem = state.problem
    self.latent = problem.latent_dimensions
    self.gaussian = problem.output_distribution == "gaussian"
    self.epsilon = problem.epsilon
    self.beta = beta
    self.encoder = keras_encoder(problem.encoder, image_shape)
    self.decoder = keras_decoder(problem.decoder, self.latent)
    self.variables = (
      self.encoder.trainable_variables + self.decoder.trainable_variables
    )
    # The same Adam (schedule, betas, epsilon, weight decay).
    self.optimizer = type(state.optimizer).from_config(
      state.optimizer.get_config()
    )

  def loss(self, images: tf.Tensor) -> tf.Tensor:
    """Mean over the batch of reconstruction NLL + β KL (one z sample)."""
    mean, raw_std = tf.split(self.encoder(images), 2, axis=-1)
    std = tf.nn.softplus(raw_std) + self.epsilon
    z = mean + std * tf.random.normal(tf.shape(mean))
    outputs = self.decoder(z)
    if self.gaussian:
      x_mean, x_raw_std = tf.split(outputs, 2, axis=-1)
      x_std = tf.nn.softplus(x_raw_std) + self.epsilon
      nll = (
        0.5 * tf.square((images - x_mean) / x_std)
        + tf.math.log(x_std)
        + _HALF_LOG_2PI
      )
    else:
      nll = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=images, logits=outputs
      )
    reconstruction = tf.reduce_sum(nll, axis=[1, 2, 3])
    kl = tf.reduce_sum(
      0.5 * (tf.square(mean) + tf.square(std) - 1.0) - tf.math.log(std), axis=-1
    )
    return tf.reduce_mean(reconstruction + self.beta * kl)

  def train_step(self, images: tf.Tensor) -> tf.Tensor:
    with tf.GradientTape() as tape:
      loss = self.loss(images)
    gradients = tape.gradient(loss, self.variables)
    self.optimizer.apply_gradients(zip(gradients, self.variables))
    return loss

  def compiled_steps(
    self, jit_compile: bool = False
  ) -> Callable[[tf.Tensor, int], tf.Tensor]:
    """fn(images, num_steps): `num_steps` calls of a compiled step."""
    step = tf.function(self.train_step, jit_compile=jit_compile)

    def run(images, num_steps):
      loss = None
      for _ in range(num_steps):
        loss = step(images)
      return loss

    return run
