"""Building blocks of the stylization network (see `style_transfer`).

- `ConditionalInstanceNorm`: instance normalization whose per-channel scale
  and shift are predicted from a conditioning vector (the style embedding,
  and in a YOTO model the loss-weight embedding) by a small MLP, as in
  Ghiasi et al. (2017) and the YOTO paper's appendix A.3. It declares its
  variables as conditioning ones (`conditioning_variables`).
- `ReflectConv`: a 'same'-size convolution that pads by reflection, as
  Magenta's transformer does.

Deviations from Ghiasi et al. / Magenta:
- the conditional normalization's scales are `1 + raw` (FiLM starting at the
  identity, the YOTO convention) where Magenta uses the predicted gamma as
  is;
- a feature map with (almost) no spatial variation is normalized to zero
  instead of to its amplified rounding noise (`gated_inverse_std`): the
  plain `(x - mean) / sqrt(var + eps)` multiplies the gradient by
  `1 / sqrt(eps)` (316) at every such map, and a flat map stays flat through
  all 13 normalizations, so one flat example made gradients of 1e30 and NaN
  weights (docs/style_transfer_tuning.md, "The non-finite losses");
- the embedded configs set epsilon to 1e-3
  (`StylizationNetwork.instance_norm_epsilon`), not Magenta's 1e-5, which
  stays the default so that checkpoints trained before evaluate as they
  were trained: a *nearly* flat map (a crop of blown-out sky) sits near
  epsilon, where each norm can multiply the gradient by up to about
  1 / sqrt(epsilon) and the gate does not yet cut it; 13 such norms made
  gradients of 2.5e22 in a trained model ("Nearly flat maps" in the tuning
  doc). 1e-3 caps that factor at 32.
"""

import math
from typing import List, Optional, Tuple

import tensorflow as tf

from yoto.architectures import conditioning


# Magenta's; the embedded configs set ROBUST_EPSILON (see above).
DEFAULT_EPSILON = 1e-5
ROBUST_EPSILON = 1e-3


def checked_epsilon(epsilon: float, setting: str) -> float:
  """`epsilon` as a float; ValueError naming `setting` unless it is a
  positive finite number."""
  if not (math.isfinite(epsilon) and epsilon > 0):
    raise ValueError(
      f"{setting} must be a positive number, got {epsilon!r}; "
      f"{ROBUST_EPSILON} bounds the gradient of nearly flat maps."
    )
  return float(epsilon)


def _default_affine_initializer():
  # Small initial scales and shifts: the normalization starts near the
  # identity (scale 1 + O(0.01), shift O(0.01)).
  return tf.keras.initializers.VarianceScaling(scale=1e-4, mode="fan_in")


def gated_inverse_std(variance: tf.Tensor, epsilon: float) -> tf.Tensor:
  """`rsqrt(variance + epsilon)` times the gate `variance / (variance + eps)`.

  For `variance >> epsilon` this is the usual inverse standard deviation
  (relative change `epsilon / variance`); for `variance << epsilon` it goes
  to zero as `variance / epsilon**1.5`, so a flat map normalizes to zero and
  passes (almost) no gradient down, where the plain factor would amplify
  both its rounding noise and its gradient by `1 / sqrt(epsilon)`.

  Args:
    variance: per-example, per-channel variances, e.g. [B, 1, 1, C], >= 0.
    epsilon: the normalization's epsilon, > 0.

  Returns:
    A tensor shaped like `variance`.
  """
  return tf.math.rsqrt(variance + epsilon) * (variance / (variance + epsilon))


class ConditionalInstanceNorm(tf.keras.layers.Layer):
  """Instance normalization with a per-example scale and shift.

  `features` [B, H, W, C] are normalized per example and channel over space;
  `conditioning` [B, D] goes through an MLP (one hidden ReLU layer of
  `hidden_size`; none when it is 0, a linear map as in Ghiasi et al.) and two
  affine maps to `scales` and `shifts` [B, C], post-processed (by default
  `scales = 1 + raw`, `shifts = raw`), which give
  `scales * normalized + shifts`. A map without spatial variation
  (variance well below `epsilon`) normalizes to zero (`gated_inverse_std`).
  """

  def __init__(
    self,
    hidden_size: int = 256,
    postprocessing: Optional[conditioning.ConditioningPostprocessing] = None,
    epsilon: float = DEFAULT_EPSILON,
    name: str = "instance_norm_conditioning",
    **kwargs,
  ):
    if hidden_size < 0:
      raise ValueError(
        "ConditionalInstanceNorm.hidden_size must be >= 0 "
        f"(0: a linear map), got {hidden_size}."
      )
    super().__init__(name=name, **kwargs)
    self.hidden_size = int(hidden_size)
    self.postprocessing = (
      postprocessing or conditioning.ConditioningPostprocessing(scales_add=1.0)
    )
    self.epsilon = checked_epsilon(epsilon, "ConditionalInstanceNorm.epsilon")
    self.hidden = None
    if self.hidden_size:
      self.hidden = tf.keras.layers.Dense(
        self.hidden_size, activation="relu", name=f"{name}_hidden"
      )
    self.scales = None
    self.shifts = None

  @property
  def conditioning_variables(self) -> List[tf.Variable]:
    """All of the layer's trainable variables: its MLP."""
    return list(self.trainable_variables)

  def build(self, features_shape):
    channels = tf.TensorShape(features_shape)[-1]
    self.scales = tf.keras.layers.Dense(
      channels,
      kernel_initializer=_default_affine_initializer(),
      name=f"{self.name}_scales",
    )
    self.shifts = tf.keras.layers.Dense(
      channels,
      kernel_initializer=_default_affine_initializer(),
      name=f"{self.name}_shifts",
    )
    super().build(features_shape)

  def scales_and_shifts(
    self, conditioning_inputs: tf.Tensor
  ) -> Tuple[tf.Tensor, tf.Tensor]:
    """Post-processed (scales, shifts), each [B, C], for [B, D] inputs."""
    hidden = conditioning_inputs
    if self.hidden is not None:
      hidden = self.hidden(conditioning_inputs)
    return self.postprocessing(self.scales(hidden), self.shifts(hidden))

  def call(
    self, features: tf.Tensor, conditioning_inputs: tf.Tensor
  ) -> tf.Tensor:
    mean, variance = tf.nn.moments(features, axes=[1, 2], keepdims=True)
    normalized = (features - mean) * gated_inverse_std(variance, self.epsilon)
    scales, shifts = self.scales_and_shifts(conditioning_inputs)
    return (
      scales[:, tf.newaxis, tf.newaxis, :] * normalized
      + shifts[:, tf.newaxis, tf.newaxis, :]
    )


class ReflectConv(tf.keras.layers.Layer):
  """A 'same'-size conv that pads by reflection, as Magenta's transformer."""

  def __init__(
    self,
    filters: int,
    kernel_size: int,
    strides: int = 1,
    use_bias: bool = False,
    name: Optional[str] = None,
  ):
    super().__init__(name=name)
    self.pad = kernel_size // 2
    self.conv = tf.keras.layers.Conv2D(
      filters,
      kernel_size,
      strides=strides,
      padding="valid",
      use_bias=use_bias,
      name=f"{name}_conv" if name else None,
    )

  def call(self, x: tf.Tensor) -> tf.Tensor:
    p = self.pad
    return self.conv(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], "REFLECT"))
