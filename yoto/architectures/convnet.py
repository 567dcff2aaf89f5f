"""ConditionalConvnet: the convolutional encoder / decoder of the YOTO VAEs.

One class builds both halves of the beta-VAEs in the paper (appendix A.1):

- Encoder (`upconv=False`): `num_blocks` blocks of `layers_per_block` 3x3
  convolutions, the first of each block with stride 2, with
  `base_num_channels * 2**b` channels in block `b`; then optional fully
  connected layers (`fc_layer_sizes`).
- Decoder (`upconv=True`): optional fully connected layers whose output is
  reshaped to `upconv_reshape_size`; then the blocks in reverse order
  (`b = num_blocks - 1, ..., 0`) of 3x3 transposed convolutions, the last of
  each block with stride 2; then a 3x3 convolution to `channels_out`.

Leaky ReLU (`alpha`) is used throughout. The conditioning input `inputs_extra`
`[B, n]` (the preprocessed loss weights) enters according to
`conditioning_type`: FiLM on the last convolution of every block, before its
nonlinearity ('mult_and_add'); concatenation before every block ('concat'); or
concatenation before block 0 only ('input'; in the decoder block 0 is the last
one processed, as in the original code). With `inputs_extra=None` the network
is an ordinary, unconditioned convnet (the fixed-weight baselines) and no
conditioning variables are created.

Differences from the original TF1 code: this is a Keras model whose variables
are created on the first call, which also fixes whether the model is
conditioned and the width of `inputs_extra`; later calls must agree.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from yoto.architectures import conditioning
from yoto.architectures import mlp


class ConditionalConvnet(tf.keras.Model):
  """Convolutional encoder or decoder, optionally conditioned on loss weights.

  `call(inputs, inputs_extra=None)` returns `(outputs, endpoints)`:
  - encoder: `inputs` `[B, H, W, C_in]`; `outputs` `[B, fc_layer_sizes[-1]]`,
    or the last block's feature map `[B, H / 2**num_blocks, W / 2**num_blocks,
    base_num_channels * 2**(num_blocks - 1)]` without `fc_layer_sizes`.
  - decoder: `inputs` `[B, d]` (with `fc_layer_sizes`) or `[B, h, w, c]`;
    `outputs` `[B, h * 2**num_blocks, w * 2**num_blocks, channels_out]`.
  `endpoints` maps names to intermediate tensors: `conv_block_{b}` (or
  `upconv_block_{b}`) after the block's nonlinearity,
  `..._before_nonlin_{b}` before it, and, for FiLM, `..._before_cond_{b}`
  before the modulation.
  """

  def __init__(
    self,
    num_blocks: int = 3,
    layers_per_block: int = 2,
    base_num_channels: int = 16,
    upconv: bool = False,
    fc_layer_sizes: Optional[Sequence[int]] = None,
    upconv_reshape_size: Optional[Sequence[int]] = None,
    conditioning_layer_sizes: Optional[Sequence[int]] = None,
    channels_out: int = 3,
    alpha: float = 0.3,
    conditioning_postprocessing: (conditioning.PostprocessingArg) = None,
    final_sigmoid: bool = False,
    conditioning_type: str = "mult_and_add",
    kernel_initializer_mode: str = "fan_in",
    fold_conv_bias: bool = True,
    name: Optional[str] = None,
  ):
    """Creates the layers (variables are created on the first call).

    Args:
      num_blocks: number of convolutional blocks; each halves (encoder) or
        doubles (decoder) the spatial size.
      layers_per_block: convolutions per block.
      base_num_channels: channels of block 0; block `b` has
        `base_num_channels * 2**b`.
      upconv: build a decoder (transposed convolutions) instead of an encoder.
      fc_layer_sizes: fully connected layers after the encoder's convolutions
        or before the decoder's; None or [] for none.
      upconv_reshape_size: `[h, w, c]` the decoder's FC output is reshaped to;
        decoder with `fc_layer_sizes` only.
      conditioning_layer_sizes: hidden sizes of the FiLM MLPs; None is [].
      channels_out: output channels of the decoder's final convolution.
      alpha: negative slope of the leaky ReLUs between convolutions.
      conditioning_postprocessing: see
        `conditioning.resolve_postprocessing`.
      final_sigmoid: apply a sigmoid to the outputs.
      conditioning_type: one of `conditioning.CONDITIONING_TYPES`.
      kernel_initializer_mode: `mode` of the convolutions' VarianceScaling
        initializer ('fan_in', 'fan_out' or 'fan_avg').
      fold_conv_bias: with FiLM, run the convolution before it without its
        bias and fold the bias into FiLM's shifts (the same function and
        gradients, cheaper: see `FilmConditioning.call`); False computes
        `scales * (conv(x) + bias) + shifts` literally, as the original.
      name: model name (e.g. 'encoder', 'decoder').

    Raises:
      ValueError: on an unknown `conditioning_type` or an inconsistent
        `upconv` / `fc_layer_sizes` / `upconv_reshape_size` combination.
    """
    super().__init__(name=name)
    if conditioning_type not in conditioning.CONDITIONING_TYPES:
      raise ValueError(
        f"Unknown conditioning_type {conditioning_type!r}; valid types are "
        f"{', '.join(repr(t) for t in conditioning.CONDITIONING_TYPES)}."
      )
    self.num_blocks = int(num_blocks)
    self.layers_per_block = int(layers_per_block)
    self.base_num_channels = int(base_num_channels)
    self.upconv = bool(upconv)
    self.fc_layer_sizes = [int(size) for size in (fc_layer_sizes or [])]
    self.upconv_reshape_size = (
      None
      if upconv_reshape_size is None
      else [int(size) for size in upconv_reshape_size]
    )
    self.conditioning_layer_sizes = [
      int(size) for size in (conditioning_layer_sizes or [])
    ]
    self.channels_out = int(channels_out)
    self.alpha = float(alpha)
    self.conditioning_postprocessing = conditioning.resolve_postprocessing(
      conditioning_postprocessing
    )
    self.final_sigmoid = bool(final_sigmoid)
    self.conditioning_type = conditioning_type
    self.kernel_initializer_mode = kernel_initializer_mode
    self.fold_conv_bias = bool(fold_conv_bias)
    self._check_shapes_config()

    # Set by the first call: whether the model is conditioned, and the width
    # of `inputs_extra` (None for an unconditioned model).
    self._built_conditioned = None
    self._inputs_extra_width = None
    self.film_layers = None

    # Layers are created in the order they run, which is also the order of
    # `trainable_variables`.
    if self.upconv:
      self.fc = self._make_fc()
      self.conv_blocks = [self._make_block(b) for b in range(self.num_blocks)]
    else:
      self.conv_blocks = [self._make_block(b) for b in range(self.num_blocks)]
      self.fc = self._make_fc()
    self.final_conv = (
      self._conv(self.channels_out, 1, transposed=False, name="final_conv")
      if self.upconv
      else None
    )

  def _check_shapes_config(self):
    """Validates the `upconv` / `fc_layer_sizes` / reshape combination."""
    if self.upconv_reshape_size is None:
      if self.upconv and self.fc_layer_sizes:
        raise ValueError(
          "A decoder (upconv=True) with fc_layer_sizes needs "
          "upconv_reshape_size, e.g. [4, 4, 64]."
        )
      return
    if not (self.upconv and self.fc_layer_sizes):
      raise ValueError(
        "upconv_reshape_size is only used by a decoder with fully connected "
        "layers (upconv=True and non-empty fc_layer_sizes); got "
        f"upconv={self.upconv}, fc_layer_sizes={self.fc_layer_sizes}."
      )
    if len(self.upconv_reshape_size) != 3:
      raise ValueError(
        "upconv_reshape_size must be [height, width, channels]; "
        f"got {self.upconv_reshape_size}."
      )
    reshape_numel = int(np.prod(self.upconv_reshape_size))
    if self.fc_layer_sizes[-1] != reshape_numel:
      raise ValueError(
        f"The last FC layer size ({self.fc_layer_sizes[-1]}) must equal the "
        f"number of elements of upconv_reshape_size "
        f"{self.upconv_reshape_size} ({reshape_numel})."
      )

  def _kernel_initializer(self):
    return tf.keras.initializers.VarianceScaling(
      scale=2.0 / (1.0 + self.alpha**2), mode=self.kernel_initializer_mode
    )

  def _conv(
    self, channels: int, stride: int, transposed: bool, name: str
  ) -> tf.keras.layers.Layer:
    """A 3x3 'same' (transposed) convolution with bias."""
    layer_class = (
      tf.keras.layers.Conv2DTranspose if transposed else tf.keras.layers.Conv2D
    )
    return layer_class(
      channels,
      kernel_size=3,
      strides=stride,
      padding="same",
      kernel_initializer=self._kernel_initializer(),
      bias_initializer="zeros",
      name=name,
    )

  def _make_fc(self) -> Optional[mlp.Mlp]:
    return (
      mlp.build_mlp(self.fc_layer_sizes, name="fc")
      if self.fc_layer_sizes
      else None
    )

  def _make_block(self, block: int) -> List[tf.keras.layers.Layer]:
    """The convolutions of block `block`; the strided one first (encoder) or
    last (decoder)."""
    channels = self.base_num_channels * 2**block
    prefix = "upconv" if self.upconv else "conv"
    strided = self.layers_per_block - 1 if self.upconv else 0
    return [
      self._conv(
        channels,
        2 if i == strided else 1,
        transposed=self.upconv,
        name=f"{prefix}_{block}_{i}",
      )
      for i in range(self.layers_per_block)
    ]

  def _setup_conditioning(self, inputs_extra: Optional[tf.Tensor]):
    """On the first call, fixes conditioning; later, checks consistency."""
    if self._built_conditioned is None:
      self._built_conditioned = inputs_extra is not None
      if inputs_extra is not None:
        self._inputs_extra_width = conditioning.check_inputs_extra(inputs_extra)
        if self.conditioning_type == "mult_and_add":
          self.film_layers = [
            conditioning.FilmConditioning(
              self.conditioning_layer_sizes,
              postprocessing=self.conditioning_postprocessing,
              name=f"conditioning_{b}",
            )
            for b in range(self.num_blocks)
          ]
      return
    if inputs_extra is None:
      if self._built_conditioned:
        raise ValueError(
          f"{self.name} was built conditioned (inputs_extra of width "
          f"{self._inputs_extra_width}); got inputs_extra=None."
        )
      return
    if not self._built_conditioned:
      raise ValueError(
        f"{self.name} was built unconditioned "
        "(inputs_extra=None); got inputs_extra of shape "
        f"{inputs_extra.shape}."
      )
    conditioning.check_inputs_extra(inputs_extra, self._inputs_extra_width)

  def _leaky_relu(self, x: tf.Tensor) -> tf.Tensor:
    return tf.nn.leaky_relu(x, alpha=self.alpha)

  def _run_block(
    self,
    x: tf.Tensor,
    block: int,
    inputs_extra: Optional[tf.Tensor],
    apply_nonlin: bool,
    endpoints: Dict[str, tf.Tensor],
  ) -> tf.Tensor:
    """One block: [concat], convs, [FiLM], [leaky ReLU]; records endpoints."""
    prefix = "upconv_block" if self.upconv else "conv_block"
    if inputs_extra is not None and (
      self.conditioning_type == "concat"
      or (self.conditioning_type == "input" and block == 0)
    ):
      x = conditioning.broadcast_and_concat(x, inputs_extra)
    film = (
      self.film_layers[block]
      if inputs_extra is not None and self.conditioning_type == "mult_and_add"
      else None
    )
    convs = self.conv_blocks[block]
    for i, layer in enumerate(convs):
      if i > 0:
        x = self._leaky_relu(x)
      if film is None or i < len(convs) - 1:
        x = layer(x)
      elif self.fold_conv_bias:
        unbiased = _convolve_without_bias(layer, x)
        endpoints[f"{prefix}_before_cond_{block}"] = tf.nn.bias_add(
          unbiased, layer.bias
        )  # Pruned from graphs that do not use it.
        x = film(unbiased, inputs_extra, bias=layer.bias)
      else:
        x = layer(x)
        endpoints[f"{prefix}_before_cond_{block}"] = x
        x = film(x, inputs_extra)
    endpoints[f"{prefix}_before_nonlin_{block}"] = x
    if apply_nonlin:
      x = self._leaky_relu(x)
    endpoints[f"{prefix}_{block}"] = x
    return x

  def _encode(
    self,
    x: tf.Tensor,
    inputs_extra: Optional[tf.Tensor],
    endpoints: Dict[str, tf.Tensor],
  ) -> tf.Tensor:
    if x.shape.rank != 4:
      raise ValueError(
        "An encoder (upconv=False) needs inputs of shape "
        f"[batch, height, width, channels]; got {x.shape}."
      )
    for block in range(self.num_blocks):
      x = self._run_block(
        x,
        block,
        inputs_extra,
        apply_nonlin=block < self.num_blocks - 1,
        endpoints=endpoints,
      )
    if self.fc is not None:
      x = self.fc(_flatten(x))
    return x

  def _decode(
    self,
    x: tf.Tensor,
    inputs_extra: Optional[tf.Tensor],
    endpoints: Dict[str, tf.Tensor],
  ) -> tf.Tensor:
    if self.fc is not None:
      if x.shape.rank is None or x.shape.rank < 2:
        raise ValueError(
          "A decoder with fc_layer_sizes needs inputs of shape "
          f"[batch, ...]; got {x.shape}."
        )
      x = self.fc(_flatten(x))
      x = tf.reshape(x, [-1] + self.upconv_reshape_size)
    elif x.shape.rank != 4:
      raise ValueError(
        "A decoder without fc_layer_sizes needs inputs of shape "
        f"[batch, height, width, channels]; got {x.shape}."
      )
    for block in reversed(range(self.num_blocks)):
      x = self._run_block(
        x, block, inputs_extra, apply_nonlin=True, endpoints=endpoints
      )
    return self.final_conv(x)

  def call(
    self,
    inputs: tf.Tensor,
    inputs_extra: Optional[tf.Tensor] = None,
    training: Optional[bool] = None,
  ) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
    """Runs the network; see the class docstring for shapes.

    Args:
      inputs: images `[B, H, W, C]` (encoder) or latents `[B, d]` (decoder).
      inputs_extra: conditioning input `[B, n]`, or None for an unconditioned
        network. The first call decides which; later calls must agree.
      training: unused (no layer behaves differently in training).

    Returns:
      `(outputs, endpoints)`.
    """
    del training  # No dropout or batch norm.
    self._setup_conditioning(inputs_extra)
    endpoints = {}
    if self.upconv:
      outputs = self._decode(inputs, inputs_extra, endpoints)
    else:
      outputs = self._encode(inputs, inputs_extra, endpoints)
    if self.final_sigmoid:
      outputs = tf.sigmoid(outputs)
    return outputs, endpoints


def _convolve_without_bias(
  layer: tf.keras.layers.Conv2D, x: tf.Tensor
) -> tf.Tensor:
  """`layer(x)` minus `layer.bias`: the 3x3 'same' (transposed) convolution
  alone, `[B, H, W, C_in] -> [B, H', W', C_out]`, for FiLM to fold the bias
  into its shifts (`FilmConditioning.call`)."""
  if not layer.built:
    layer(x)  # Creates the variables under the layer's name; pruned in graphs.
  if not isinstance(layer, tf.keras.layers.Conv2DTranspose):
    return layer.convolution_op(x, layer.kernel)
  stride = layer.strides[0]
  shape = tf.shape(x)
  output_shape = tf.stack(
    [shape[0], shape[1] * stride, shape[2] * stride, layer.filters]
  )
  outputs = tf.nn.conv2d_transpose(
    x, layer.kernel, output_shape, strides=layer.strides, padding="SAME"
  )
  static = x.shape
  return tf.ensure_shape(
    outputs,
    [
      static[0],
      None if static[1] is None else static[1] * stride,
      None if static[2] is None else static[2] * stride,
      layer.filters,
    ],
  )


def _flatten(x: tf.Tensor) -> tf.Tensor:
  """`[B, ...] -> [B, prod(...)]` with a static inner size where known."""
  inner = x.shape[1:].num_elements()
  return tf.reshape(x, [-1, inner if inner is not None else -1])
