"""Multi-layer perceptrons: the fully connected parts of YOTO networks.

Used for the fully connected layers after a convolutional encoder (or before a
transposed-convolutional decoder) and for the small conditioning MLPs that map
`inputs_extra` (the preprocessed loss weights) to FiLM scales and shifts.

As in the original code, every layer is a dense layer with a bias; a leaky
ReLU (slope 0.2, the `tf.nn.leaky_relu` default) follows every layer except the
last, so the output is an unconstrained linear read-out. Kernels are
initialised with He-style `VarianceScaling(scale=2.0)` (fan-in, truncated
normal) and biases with zeros.
"""

from typing import Callable, Optional, Sequence

import tensorflow as tf


def default_mlp_kernel_initializer():
  """He-style initializer for MLP kernels: fan-in, truncated normal."""
  return tf.keras.initializers.VarianceScaling(
    scale=2.0, mode="fan_in", distribution="truncated_normal"
  )


def _fresh_initializer(initializer):
  """A new initializer instance per layer.

  Keras warns that an unseeded initializer instance called more than once may
  return identical values, so each layer gets its own copy.
  """
  if initializer is None:
    return default_mlp_kernel_initializer()
  if isinstance(initializer, tf.keras.initializers.Initializer):
    return initializer.__class__.from_config(initializer.get_config())
  return initializer


class Mlp(tf.keras.layers.Layer):
  """A stack of dense layers with a nonlinearity between (not after) them.

  Maps `[batch, d_in]` to `[batch, layer_sizes[-1]]` (any leading dimensions
  are kept; only the last one is transformed).
  """

  def __init__(
    self,
    layer_sizes: Sequence[int],
    activation: Callable[[tf.Tensor], tf.Tensor] = tf.nn.leaky_relu,
    kernel_initializer=None,
    name: Optional[str] = None,
    **kwargs,
  ):
    """Creates the dense layers (their variables are made on the first call).

    Args:
      layer_sizes: output width of each dense layer, in order; at least one.
      activation: applied between layers, not after the last one.
      kernel_initializer: Keras initializer (or its name) for every kernel;
        defaults to `default_mlp_kernel_initializer()`.
      name: layer name; the dense layers are called `{name}_dense_{i}`, so a
        name carries over into the variable names even without name scoping.
      **kwargs: passed to `tf.keras.layers.Layer`.

    Raises:
      ValueError: if `layer_sizes` is empty or has a non-positive size.
    """
    super().__init__(name=name, **kwargs)
    layer_sizes = [int(size) for size in layer_sizes]
    if not layer_sizes:
      raise ValueError("An MLP needs at least one layer; got layer_sizes=[].")
    if any(size <= 0 for size in layer_sizes):
      raise ValueError(f"MLP layer sizes must be positive; got {layer_sizes}.")
    self.layer_sizes = layer_sizes
    self.activation = activation
    self.dense_layers = [
      tf.keras.layers.Dense(
        size,
        kernel_initializer=_fresh_initializer(kernel_initializer),
        bias_initializer="zeros",
        name=f"{self.name}_dense_{i}",
      )
      for i, size in enumerate(layer_sizes)
    ]

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    """Applies the MLP: `[..., d_in] -> [..., layer_sizes[-1]]`."""
    x = inputs
    for i, layer in enumerate(self.dense_layers):
      if i > 0:
        x = self.activation(x)
      x = layer(x)
    return x

  def get_config(self):
    config = super().get_config()
    config.update({"layer_sizes": list(self.layer_sizes)})
    return config


def build_mlp(
  layer_sizes: Sequence[int],
  name: Optional[str] = None,
  activation: Callable[[tf.Tensor], tf.Tensor] = tf.nn.leaky_relu,
  kernel_initializer=None,
) -> Mlp:
  """Returns an `Mlp` layer; see `Mlp.__init__` for the arguments."""
  return Mlp(
    layer_sizes,
    activation=activation,
    kernel_initializer=kernel_initializer,
    name=name,
  )
