"""The four transforms of the Ballé et al. (2018) scale hyperprior, with FiLM.

> J. Ballé, D. Minnen, S. Singh, S. J. Hwang, N. Johnston: "Variational image
> compression with a scale hyperprior", ICLR 2018.

The layer layout follows tensorflow-compression's `models/bmshj2018.py`
(`tfc.SignalConv2D` with 'same_zeros' padding, `tfc.GDN`):

  analysis g_a:         4 x [5x5 conv, stride 2 down], GDN after the first 3
  synthesis g_s:        4 x [5x5 conv, stride 2 up], inverse GDN after the
                        first 3, the last one emitting 3 channels
  hyper-analysis h_a:   3x3 stride 1, 5x5 stride 2, 5x5 stride 2 (ReLU between)
  hyper-synthesis h_s:  5x5 stride 2 up, 5x5 stride 2 up, 3x3 stride 1
                        (ReLU between)

YOTO (Dosovitskiy & Djolonga 2020, appendix A.2) conditions *every*
convolution on the loss weights: each conv's output is modulated by FiLM
(`FilmConditioning`, per-channel scale and shift from two MLPs on
`inputs_extra`) and only then goes through its GDN / ReLU. Unconditioned
transforms (fixed-λ baselines) have no FiLM layers at all.

Spatial sizes: a stride-2 'same_zeros' correlation maps n to ceil(n / 2), and a
stride-2 transposed one maps n to 2n, so for an H x W image the latent y is
ceil(H/16) x ceil(W/16), the hyper-latent z is ceil(H/64) x ceil(W/64), and
h_s(z) and g_s(y) come out at least as large as y and x. Callers crop them back
(`crop_like`), as tensorflow-compression does; no image padding is needed.

Deviation from bmshj2018.py: images enter g_a in [0, 1] and leave g_s in [0, 1]
units (bmshj2018 uses [0, 255] and divides / multiplies by 255 at the ends);
the two differ only by the scale of the final linear layer.
"""

import dataclasses
from typing import Optional, Sequence, Tuple

import tensorflow as tf
import tensorflow_compression as tfc

from yoto.architectures import conditioning as conditioning_lib
from yoto.weights import contract

ACTIVATIONS = ("gdn", "igdn", "relu", None)
# Where a conditioned transform may apply a `LogLinearGain`: to what it reads
# or to what it writes.
GAIN_PLACES = ("input", "output", None)


@dataclasses.dataclass(frozen=True)
class ConvSpec:
  """One convolution of a transform.

  Attributes:
    filters: output channels.
    kernel_size: square kernel support.
    stride: down-sampling (upsample=False) or up-sampling factor.
    upsample: transposed convolution (`strides_up`) instead of a strided
      correlation (`strides_down`).
    use_bias: whether the conv has a bias.
    activation: 'gdn', 'igdn' (inverse GDN), 'relu' or None, applied after
      FiLM.
    kernel_parameter: `tfc.SignalConv2D` kernel parameterization ('rdft' or
      'variable').
  """

  filters: int
  kernel_size: int
  stride: int = 1
  upsample: bool = False
  use_bias: bool = True
  activation: Optional[str] = None
  kernel_parameter: str = "rdft"


def _activation_layer(activation: Optional[str], name: str):
  if activation == "gdn":
    return tfc.GDN(name=name)
  if activation == "igdn":
    return tfc.GDN(inverse=True, name=name)
  if activation == "relu":
    return tf.keras.layers.ReLU(name=name)
  if activation is None:
    return None
  raise ValueError(
    f"Unknown activation {activation!r}; choose one of {ACTIVATIONS}."
  )


class ConditionalTransform(tf.keras.layers.Layer):
  """A stack of `tfc.SignalConv2D`, each followed by FiLM and a nonlinearity.

  Maps `[B, H, W, C_in]` (and `inputs_extra` `[B, n]` when conditioned) to
  `[B, H', W', specs[-1].filters]`; see the module docstring for H', W'.
  """

  def __init__(
    self,
    specs: Sequence[ConvSpec],
    conditioned: bool,
    conditioning_layer_sizes: Sequence[int] = (128,),
    conditioning_postprocessing: Optional[
      conditioning_lib.ConditioningPostprocessing
    ] = None,
    conditioning_input_offset: Optional[Sequence[float]] = None,
    gain: Optional[str] = None,
    name: Optional[str] = None,
    **kwargs,
  ):
    """Creates the layers (variables are made on the first call).

    Args:
      specs: the convolutions, input side first.
      conditioned: whether each conv is followed by FiLM on `inputs_extra`.
      conditioning_layer_sizes: hidden sizes of every FiLM MLP (the paper: one
        hidden layer of 128 units).
      conditioning_postprocessing: maps raw MLP outputs to FiLM scales and
        shifts; None is the identity.
      conditioning_input_offset: subtracted from `inputs_extra` [B, n] before
        the FiLM MLPs, e.g. the middle of the training range of log λ. The
        same function class as without it (the first layer's bias can absorb
        it), but centred inputs decouple that layer's slope from its
        intercept, which makes the λ-dependence much faster to learn when
        the range lies far from 0 (log λ in [-6.7, -1.3] for compression).
      gain: 'input' or 'output': a `LogLinearGain` on the (offset)
        `inputs_extra` scales what the transform reads or what it writes,
        per channel (only when conditioned); None: none.
      name: layer name; the FiLM layers are `{name}_conditioning_{i}`.
      **kwargs: passed to `tf.keras.layers.Layer`.
    """
    super().__init__(name=name, **kwargs)
    if gain not in GAIN_PLACES:
      raise ValueError(
        f"{name}: gain must be one of {GAIN_PLACES}, got {gain!r}."
      )
    self.specs = tuple(specs)
    self.conditioned = bool(conditioned)
    self.gain_place = gain if self.conditioned else None
    self.gain = (
      conditioning_lib.LogLinearGain(name=f"{self.name}_gain")
      if self.gain_place
      else None
    )
    self.conditioning_input_offset = (
      None
      if conditioning_input_offset is None
      else tuple(float(v) for v in conditioning_input_offset)
    )
    self.convs = [
      tfc.SignalConv2D(
        spec.filters,
        (spec.kernel_size, spec.kernel_size),
        corr=not spec.upsample,
        strides_down=1 if spec.upsample else spec.stride,
        strides_up=spec.stride if spec.upsample else 1,
        padding="same_zeros",
        use_bias=spec.use_bias,
        kernel_parameter=spec.kernel_parameter,
        name=f"layer_{i}",
      )
      for i, spec in enumerate(self.specs)
    ]
    self.films = [
      conditioning_lib.FilmConditioning(
        conditioning_layer_sizes,
        conditioning_postprocessing,
        name=f"{self.name}_conditioning_{i}",
      )
      if self.conditioned
      else None
      for i in range(len(self.specs))
    ]
    self.activations = [
      _activation_layer(spec.activation, f"{spec.activation}_{i}")
      for i, spec in enumerate(self.specs)
    ]

  def call(
    self, inputs: tf.Tensor, inputs_extra: Optional[tf.Tensor] = None
  ) -> tf.Tensor:
    """Applies conv -> FiLM -> nonlinearity for every spec, and the gain
    before the first or after the last."""
    if self.conditioned and inputs_extra is None:
      raise ValueError(f"{self.name} is conditioned and needs inputs_extra.")
    if self.conditioned:
      inputs_extra = contract.offset_and_scale(
        inputs_extra, self.conditioning_input_offset
      )
    x = inputs
    if self.gain_place == "input":
      x = self.gain(x, inputs_extra)
    for conv, film, activation in zip(self.convs, self.films, self.activations):
      x = conv(x)
      if film is not None:
        x = film(x, inputs_extra)
      if activation is not None:
        x = activation(x)
    if self.gain_place == "output":
      x = self.gain(x, inputs_extra)
    return x


def analysis_specs(
  num_filters: int, latent_filters: Optional[int] = None
) -> Sequence[ConvSpec]:
  """g_a: image [B, H, W, 3] -> y [B, ceil(H/16), ceil(W/16), M].

  M = `latent_filters` (Ballé et al.'s M; None: `num_filters`, their N).
  """
  return [ConvSpec(num_filters, 5, 2, activation="gdn") for _ in range(3)] + [
    ConvSpec(latent_filters or num_filters, 5, 2)
  ]


def synthesis_specs(
  num_filters: int, channels_out: int = 3
) -> Sequence[ConvSpec]:
  """g_s: y [B, h, w, M] -> image [B, 16h, 16w, channels_out]."""
  return [
    ConvSpec(num_filters, 5, 2, upsample=True, activation="igdn")
    for _ in range(3)
  ] + [ConvSpec(channels_out, 5, 2, upsample=True)]


def hyper_analysis_specs(num_filters: int) -> Sequence[ConvSpec]:
  """h_a: |y| [B, h, w, C] -> z [B, ceil(h/4), ceil(w/4), num_filters]."""
  return [
    ConvSpec(num_filters, 3, 1, activation="relu"),
    ConvSpec(num_filters, 5, 2, activation="relu"),
    ConvSpec(num_filters, 5, 2, use_bias=False),
  ]


def hyper_synthesis_specs(
  num_filters: int, latent_filters: Optional[int] = None
) -> Sequence[ConvSpec]:
  """h_s: z [B, h, w, C] -> scale indexes [B, 4h, 4w, M], one per latent
  channel (M = `latent_filters`, None: `num_filters`)."""
  return [
    ConvSpec(
      num_filters,
      5,
      2,
      upsample=True,
      activation="relu",
      kernel_parameter="variable",
    ),
    ConvSpec(
      num_filters,
      5,
      2,
      upsample=True,
      activation="relu",
      kernel_parameter="variable",
    ),
    ConvSpec(
      latent_filters or num_filters,
      3,
      1,
      upsample=True,
      kernel_parameter="variable",
    ),
  ]


def crop_like(tensor: tf.Tensor, height, width) -> tf.Tensor:
  """Crops `[B, H', W', C]` to its top-left `[B, height, width, C]`."""
  return tensor[:, :height, :width, :]


# g_a down-samples by 16 and h_a by another 4.
LATENT_STRIDE = 16
HYPER_LATENT_STRIDE = 64


def downsampled_size(size, factor: int):
  """ceil(size / factor) for ints or int tensors: a latent's spatial size."""
  return -(-size // factor)


def latent_shapes(image_shape: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """Spatial shapes [2] of y and z for an image of spatial shape [2]."""
  return (
    downsampled_size(image_shape, LATENT_STRIDE),
    downsampled_size(image_shape, HYPER_LATENT_STRIDE),
  )
