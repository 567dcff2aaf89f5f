"""Conditioning a network on the loss weights: FiLM, concatenation, and helpers.

YOTO feeds every network the (preprocessed) loss weights `inputs_extra`,
shape `[batch, n_losses]`. Three ways of using them are supported, named as in
the original code (`CONDITIONING_TYPES`):

- 'mult_and_add' (FiLM, Perez et al. 2018; the paper's choice): two small MLPs
  map `inputs_extra` to a per-example, per-channel scale and shift, which
  modulate a feature map as `scales * features + shifts`.
- 'concat': `inputs_extra` is broadcast over space and concatenated to the
  feature map's channels before every block.
- 'input': the same, but only where the network's input enters (block 0).

The raw MLP outputs are post-processed as `mult * x + add`
(`ConditioningPostprocessing`); with a small `scales_mult` and
`scales_add=1` FiLM starts near the identity. `resolve_postprocessing` turns
a network's `conditioning_postprocessing` argument (an instance, or a class
or factory as gin binds it) into one.

Networks declare which of their variables are conditioning ones (the trainer
gives those their own optimizer when one is configured): a module with a
`conditioning_variables` property declares them, the layers here declare all
their variables, and `conditioning_variables` / `split_conditioning_variables`
collect the declarations of every module inside a network or problem. Names
play no part (the layers are still called `conditioning_*` for readability).
"""

import inspect
from typing import Callable, List, Optional, Sequence, Tuple, Union

import tensorflow as tf

from yoto.architectures import mlp

CONDITIONING_TYPES = ("mult_and_add", "concat", "input")


class ConditioningPostprocessing:
  """Affine post-processing of the FiLM MLP outputs.

  Maps raw `(scales, shifts)` to
  `(scales_mult * scales + scales_add, shifts_mult * shifts + shifts_add)`.
  The identity by default; `scales_mult=0.1, scales_add=1.0` makes FiLM start
  close to the identity map.
  """

  def __init__(
    self,
    scales_mult: float = 1.0,
    scales_add: float = 0.0,
    shifts_mult: float = 1.0,
    shifts_add: float = 0.0,
  ):
    self.scales_mult = float(scales_mult)
    self.scales_add = float(scales_add)
    self.shifts_mult = float(shifts_mult)
    self.shifts_add = float(shifts_add)

  def __call__(
    self, scales: tf.Tensor, shifts: tf.Tensor
  ) -> Tuple[tf.Tensor, tf.Tensor]:
    """Post-processes `scales` and `shifts` (any shapes, even different)."""
    return (
      self.scales_mult * scales + self.scales_add,
      self.shifts_mult * shifts + self.shifts_add,
    )

  def __repr__(self):
    return (
      f"ConditioningPostprocessing(scales_mult={self.scales_mult}, "
      f"scales_add={self.scales_add}, shifts_mult={self.shifts_mult}, "
      f"shifts_add={self.shifts_add})"
    )


PostprocessingArg = Union[
  None, ConditioningPostprocessing, Callable[..., object]
]


def resolve_postprocessing(
  postprocessing: PostprocessingArg,
) -> Callable[..., Tuple[tf.Tensor, tf.Tensor]]:
  """Turns the `conditioning_postprocessing` argument into a callable.

  Args:
    postprocessing: None (identity), a `ConditioningPostprocessing` (or any
      `(scales, shifts) -> (scales, shifts)` callable), or a zero-argument
      factory returning one, such as a class bound by gin.

  Returns:
    A callable `(scales, shifts) -> (scales, shifts)`.
  """
  if postprocessing is None:
    return ConditioningPostprocessing()
  if isinstance(postprocessing, ConditioningPostprocessing):
    return postprocessing
  if isinstance(postprocessing, type) or _accepts_no_arguments(postprocessing):
    return postprocessing()
  return postprocessing


def _accepts_no_arguments(fn: Callable[..., object]) -> bool:
  """Whether `fn()` is a valid call (so `fn` is a factory)."""
  try:
    inspect.signature(fn).bind()
  except (TypeError, ValueError):
    return False
  return True


def check_inputs_extra(
  inputs_extra: tf.Tensor, expected_width: Optional[int] = None
) -> int:
  """Checks that `inputs_extra` is `[batch, n]` with a known `n`; returns `n`.

  Args:
    inputs_extra: the conditioning input, shape `[batch, n]`.
    expected_width: if given, the `n` the consuming layers were built with.

  Returns:
    The static width `n`.

  Raises:
    ValueError: on a rank other than 2, an unknown width, or a width different
      from `expected_width`.
  """
  shape = inputs_extra.shape
  if shape.rank != 2:
    raise ValueError(
      "inputs_extra must have shape [batch, n_losses]; got rank "
      f"{shape.rank} (shape {shape})."
    )
  width = shape[-1]
  if width is None:
    raise ValueError(
      "inputs_extra must have a statically known last "
      f"dimension; got shape {shape}."
    )
  if expected_width is not None and width != expected_width:
    raise ValueError(
      "inputs_extra width does not match the width the "
      f"conditioning layers were built with: expected "
      f"{expected_width}, got {width} (shape {shape})."
    )
  return width


def _expand_to_rank(inputs_extra: tf.Tensor, rank: int) -> tf.Tensor:
  """Reshapes `[B, n]` to `[B, 1, ..., 1, n]` with `rank` dimensions."""
  for _ in range(rank - 2):
    inputs_extra = tf.expand_dims(inputs_extra, axis=1)
  return inputs_extra


def modulate(
  features: tf.Tensor, scales: tf.Tensor, shifts: tf.Tensor
) -> tf.Tensor:
  """FiLM's modulation: `scales * features + shifts`, per example and channel.

  Args:
    features: `[B, ..., C]`.
    scales: `[B, C]`.
    shifts: `[B, C]`.

  Returns:
    `[B, ..., C]`; `scales` and `shifts` are broadcast over the middle
    (spatial) dimensions.
  """
  rank = features.shape.rank
  return _expand_to_rank(scales, rank) * features + _expand_to_rank(
    shifts, rank
  )


def broadcast_and_concat(
  features: tf.Tensor, inputs_extra: tf.Tensor
) -> tf.Tensor:
  """Appends `inputs_extra` to every spatial position's channels.

  Args:
    features: `[B, H, W, C]` (or any rank >= 2 with channels last, e.g.
      `[B, C]`).
    inputs_extra: `[B, n]`.

  Returns:
    `[B, H, W, C + n]`, with `inputs_extra` cast to the features' dtype.
  """
  check_inputs_extra(inputs_extra)
  inputs_extra = tf.cast(inputs_extra, features.dtype)
  rank = features.shape.rank
  expanded = _expand_to_rank(inputs_extra, rank)
  target_shape = tf.concat(
    [tf.shape(features)[:-1], tf.shape(inputs_extra)[-1:]], axis=0
  )
  return tf.concat([features, tf.broadcast_to(expanded, target_shape)], axis=-1)


class FilmConditioning(tf.keras.layers.Layer):
  """FiLM: per-example, per-channel affine modulation ('mult_and_add').

  `scales` and `shifts`, each `[B, C]`, come from two MLPs with hidden sizes
  `conditioning_layer_sizes` and output size `C` applied to `inputs_extra`
  `[B, n]`; after post-processing they modulate `features` `[B, H, W, C]` (or
  `[B, C]`) as `scales * features + shifts`, broadcast over space. The cost is
  one small MLP call per example and one broadcast multiply-add.
  """

  def __init__(
    self,
    conditioning_layer_sizes: Optional[Sequence[int]] = None,
    postprocessing: Optional[ConditioningPostprocessing] = None,
    name: str = "conditioning",
    **kwargs,
  ):
    """Stores the configuration; the MLPs are made once `C` is known.

    Args:
      conditioning_layer_sizes: hidden layer sizes of both MLPs; None or []
        gives a direct affine map from `inputs_extra` to scales and shifts.
      postprocessing: maps `(scales, shifts)` to their final values; None is
        the identity.
      name: layer name.
      **kwargs: passed to `tf.keras.layers.Layer`.
    """
    super().__init__(name=name, **kwargs)
    self.conditioning_layer_sizes = [
      int(size) for size in (conditioning_layer_sizes or [])
    ]
    self.postprocessing = postprocessing or ConditioningPostprocessing()
    self.scales_mlp = None
    self.shifts_mlp = None
    self.inputs_extra_width = None

  @property
  def conditioning_variables(self) -> List[tf.Variable]:
    """All of the layer's trainable variables: the two MLPs."""
    return list(self.trainable_variables)

  def build(self, features_shape):
    """Creates the scale and shift MLPs for `C = features_shape[-1]`."""
    num_channels = tf.TensorShape(features_shape)[-1]
    if num_channels is None:
      raise ValueError(
        "FilmConditioning needs a known number of channels; "
        f"got features shape {features_shape}."
      )
    layer_sizes = self.conditioning_layer_sizes + [int(num_channels)]
    self.scales_mlp = mlp.build_mlp(layer_sizes, name=f"{self.name}_scales")
    self.shifts_mlp = mlp.build_mlp(layer_sizes, name=f"{self.name}_shifts")
    super().build(features_shape)

  def scales_and_shifts(
    self, inputs_extra: tf.Tensor
  ) -> Tuple[tf.Tensor, tf.Tensor]:
    """Post-processed `(scales, shifts)`, each `[B, C]`, for `[B, n]` input."""
    self.inputs_extra_width = check_inputs_extra(
      inputs_extra, self.inputs_extra_width
    )
    inputs_extra = tf.cast(inputs_extra, self.compute_dtype)
    return self.postprocessing(
      self.scales_mlp(inputs_extra), self.shifts_mlp(inputs_extra)
    )

  def call(
    self,
    features: tf.Tensor,
    inputs_extra: tf.Tensor,
    bias: Optional[tf.Tensor] = None,
  ) -> tf.Tensor:
    """Returns `scales * (features + bias) + shifts`, shaped like `features`.

    Args:
      features: `[B, ..., C]`.
      inputs_extra: `[B, n]`.
      bias: optional `[C]`, the bias of the convolution that produced
        `features` without it. It is folded into the shifts
        (`scales * bias + shifts`, a `[B, C]` operation), so the convolution
        can run bias-free and no pass over the feature map is spent on the
        bias, forward or backward: the same function and gradients, cheaper.
    """
    scales, shifts = self.scales_and_shifts(inputs_extra)
    if bias is not None:
      shifts = shifts + scales * tf.cast(bias, scales.dtype)
    return modulate(features, scales, shifts)

  def get_config(self):
    config = super().get_config()
    config.update({"conditioning_layer_sizes": self.conditioning_layer_sizes})
    return config


class LogLinearGain(tf.keras.layers.Layer):
  """A per-channel gain whose log is linear in the loss weights' log.

  Scales `features` `[B, ..., C]` by `exp(inputs_extra @ slopes)`, `[B, C]`
  broadcast over space, with `slopes` `[n, C]` starting at zero (the
  identity). Where FiLM's scale is `1 + 0.1 * MLP(...)` and needs large MLP
  outputs to move a feature's magnitude by several times, this reaches a
  gain of `e` with a slope of 1 per unit of `inputs_extra`: a multiplicative
  range that is quick to learn. A codec's latent needs exactly that (its
  magnitude against the quantization step sets the rate, over a wide range
  of λ); this is the gain-unit idea of variable-rate codecs, tied to log λ.
  """

  def __init__(self, name: str = "gain", **kwargs):
    super().__init__(name=name, **kwargs)
    self.slopes = None
    self.inputs_extra_width = None

  @property
  def conditioning_variables(self) -> List[tf.Variable]:
    return list(self.trainable_variables)

  def call(self, features: tf.Tensor, inputs_extra: tf.Tensor) -> tf.Tensor:
    """`features * exp(inputs_extra @ slopes)`, shaped like `features`."""
    self.inputs_extra_width = check_inputs_extra(
      inputs_extra, self.inputs_extra_width
    )
    if self.slopes is None:
      num_channels = features.shape[-1]
      if num_channels is None:
        raise ValueError(
          "LogLinearGain needs a known number of channels; "
          f"got features shape {features.shape}."
        )
      self.slopes = self.add_weight(
        "slopes",
        shape=[self.inputs_extra_width, int(num_channels)],
        initializer="zeros",
      )
    log_gain = tf.matmul(tf.cast(inputs_extra, tf.float32), self.slopes)
    gain = tf.cast(tf.exp(log_gain), features.dtype)
    return _expand_to_rank(gain, features.shape.rank) * features


def conditioning_variables(module: tf.Module) -> List[tf.Variable]:
  """The conditioning variables a network or problem's parts declare.

  Every module strictly inside `module` (Keras layers and tf.Modules, found
  through `module.submodules`) that has a `conditioning_variables` property
  declares those variables; this returns their union.

  Args:
    module: a network, a problem, or any tf.Module.

  Returns:
    The declared variables that are among `module.trainable_variables`, in
    that order.
  """
  declared = set()
  for submodule in module.submodules:
    if _declares(submodule):
      declared.update(v.ref() for v in submodule.conditioning_variables)
  return [v for v in module.trainable_variables if v.ref() in declared]


def _declares(module: tf.Module) -> bool:
  return isinstance(
    getattr(type(module), "conditioning_variables", None), property
  )


def split_conditioning_variables(
  module: tf.Module,
) -> Tuple[List[tf.Variable], List[tf.Variable]]:
  """Splits `module.trainable_variables` into `(normal, conditioning)`.

  The conditioning ones are those `module` declares (its own
  `conditioning_variables` property when it has one, as problems and the
  conditioning layers do) or else those its parts declare (the function
  `conditioning_variables`); the order within each list follows
  `module.trainable_variables`.
  """
  chosen = {
    v.ref()
    for v in (
      module.conditioning_variables
      if _declares(module)
      else conditioning_variables(module)
    )
  }
  normal, conditioning = [], []
  for variable in module.trainable_variables:
    (conditioning if variable.ref() in chosen else normal).append(variable)
  return normal, conditioning
