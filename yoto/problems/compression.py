"""Variable-rate learned image compression: a λ-conditioned scale hyperprior.

The model is the scale hyperprior of Ballé et al. (2018) as tensorflow-
compression builds it (`models/bmshj2018.py`): transforms g_a, g_s, h_a, h_s
(see `yoto.architectures.hyperprior`), a `tfc.NoisyDeepFactorized` prior for
the hyper-latent z and a `tfc.NoisyNormal` with a log-spaced scale table,
indexed by h_s(z_hat), for the latent y; the passes through it, its entropy
models and the range coding are `yoto.architectures.hyperprior_codec`. YOTO
(Dosovitskiy & Djolonga 2020, §4.2 and appendix A.2) FiLM-conditions every
convolution on λ, so one model serves every rate-distortion trade-off in the
training range. The problem owns (tracks and checkpoints) the transforms and
the hyperprior; `codec` runs images through them.

Losses, per example, in tensorflow-compression's convention:
  rate        bits per pixel, -log2 p(y~ | z~) - log2 p(z~) over H * W
              (noisy latents in training; quantized ones in evaluation, the
              Shannon information the range coder approaches)
  distortion  mean squared error on the 0-255 scale
so that the training loss is `rate + λ · distortion`. Sorted loss order is
(distortion, rate): weight vectors are [λ, 1] and YOTO samples λ
log-uniformly (the paper: [1.2e-3, 2.6e-1]) and feeds log λ to the FiLM MLPs.

Images are float32 in [0, 1] (`value_range(0, 1)` in the configs), any size:
sizes not divisible by 64 go through and are cropped back (see
`yoto.architectures.hyperprior`). In evaluation (`training=False`) the
metrics are those of the real codec: the latents are range coded with entropy
models built with `compression=True`, `actual_bpp` counts the bytes of the
strings, and PSNR / MS-SSIM are measured on the decoded 8-bit image.

Deviations from bmshj2018.py: images in [0, 1] rather than [0, 255]; the
training noise is drawn from the step's stateless seed (runs are reproducible)
rather than `tf.random.uniform`; the hyperprior is shared by all λ (only the
transforms are conditioned); MS-SSIM uses fewer scales on images smaller than
176 pixels (see `yoto.problems.image_metrics.ms_ssim`); optionally log λ is
centred inside the network (`conditioning_input_offset`), which makes FiLM
learn the λ-dependence much faster in short runs without changing the
function class.
"""

from typing import Optional, Sequence, Tuple

import tensorflow as tf
import tensorflow_compression as tfc

from yoto.architectures import conditioning as conditioning_layers
from yoto.architectures import hyperprior
from yoto.architectures import hyperprior_codec
from yoto.export import compression as compression_export
from yoto.problems import base
from yoto.problems import image_metrics
from yoto.weights import contract

LOSS_NAMES = ("distortion", "rate")
# The four transforms, by their layer names.
TRANSFORMS = ("analysis", "synthesis", "hyper_analysis", "hyper_synthesis")


def _num_pixels(images: tf.Tensor) -> tf.Tensor:
  shape = tf.shape(images)
  return tf.cast(shape[1] * shape[2], tf.float32)


def default_postprocessing() -> conditioning_layers.ConditioningPostprocessing:
  """FiLM = (1 + 0.01 * MLP, 0.01 * MLP): near the identity at initialisation.

  The MLPs see log λ, up to about 7 in magnitude, so their initial outputs
  have a spread of several units; the factor 0.01 keeps the initial scales
  within a few percent of 1 and the shifts near 0.
  """
  return conditioning_layers.ConditioningPostprocessing(
    scales_mult=0.01, scales_add=1.0, shifts_mult=0.01, shifts_add=0.0
  )


def _check_positive(name, value):
  if not value > 0:
    raise ValueError(
      f"HyperpriorCompressionProblem.{name} must be positive, got {value!r}."
    )


class HyperpriorCompressionProblem(base.Problem):
  """The scale-hyperprior codec with every convolution conditioned on λ."""

  def __init__(
    self,
    num_filters: int = 192,
    num_scales: int = 64,
    scale_min: float = 0.11,
    scale_max: float = 256.0,
    conditioning_layer_sizes: Sequence[int] = (128,),
    conditioning_postprocessing=None,
    conditioning_input_offset: contract.InputOffset = None,
    features_key: str = "image",
    num_latent_filters: Optional[int] = None,
    unconditioned_transforms: Sequence[str] = (),
    latent_gain: bool = False,
    name: Optional[str] = None,
  ):
    """Creates the problem; the networks are built in `initialize_model`.

    Args:
      num_filters: channels of every hidden layer and of y and z (192 in the
        paper, 256 for "wider").
      num_scales: size of the latent's log-spaced scale table.
      scale_min: smallest scale of the table.
      scale_max: largest scale of the table.
      conditioning_layer_sizes: hidden sizes of each FiLM MLP (the paper: one
        hidden layer of 128 units).
      conditioning_postprocessing: a `ConditioningPostprocessing` (or a
        zero-argument factory of one, as gin's `@ConditioningPostprocessing`
        gives); None is `default_postprocessing()`, which starts FiLM near
        the identity.
      conditioning_input_offset: a constant [num_losses] subtracted from
        `inputs_extra` inside the network, before the FiLM MLPs; the middle
        of the log-λ training range, [log sqrt(λ_low λ_high), 0], makes the
        λ-dependence much quicker to learn (see `ConditionalTransform`).
        'centre' takes it from the training range in `initialize_model`
        (`contract.resolve_input_offset`). The conditioning contract
        (inputs_extra = log [λ, 1]) is unchanged.
      features_key: the feature holding [B, H, W, 3] images in [0, 1].
      num_latent_filters: channels of the latent y (Ballé et al.'s M, which
        they set above N for high rates: 192 / 320); None uses
        `num_filters`, as the YOTO paper does. y has M values per 16x16x3 =
        768 pixel values, so a small M caps the quality no number of bits
        can buy.
      unconditioned_transforms: names among TRANSFORMS left without FiLM in
        a conditioned model (an ablation of FiLM's placement; the paper
        conditions all four).
      latent_gain: in a conditioned model, scale the latent y per channel by
        a gain whose log is linear in the centred log λ (learnt, starting at
        1; `LogLinearGain`), and the synthesis' input by its own such gain.
        Not in the paper: it lets the latent's magnitude against the
        quantization step, which sets the rate, follow λ over the whole
        range, which FiLM's near-identity scales learn slowly.
      name: tf.Module name.
    """
    super().__init__(name=name)
    if not isinstance(num_filters, int) or num_filters <= 0:
      raise ValueError(
        "HyperpriorCompressionProblem.num_filters must be a "
        f"positive int, got {num_filters!r}."
      )
    if not isinstance(num_scales, int) or num_scales < 2:
      raise ValueError(
        "HyperpriorCompressionProblem.num_scales must be an "
        f"int >= 2, got {num_scales!r}."
      )
    _check_positive("scale_min", scale_min)
    _check_positive("scale_max", scale_max)
    if not scale_max > scale_min:
      raise ValueError(
        "HyperpriorCompressionProblem needs scale_max > "
        f"scale_min, got {scale_max} <= {scale_min}."
      )
    if num_latent_filters is not None and (
      not isinstance(num_latent_filters, int) or num_latent_filters <= 0
    ):
      raise ValueError(
        "HyperpriorCompressionProblem.num_latent_filters must "
        f"be a positive int or None, got {num_latent_filters!r}."
      )
    unknown = set(unconditioned_transforms) - set(TRANSFORMS)
    if unknown:
      raise ValueError(
        "HyperpriorCompressionProblem.unconditioned_transforms "
        f"names {sorted(unknown)}; the transforms are "
        f"{list(TRANSFORMS)}."
      )
    self.unconditioned_transforms = tuple(unconditioned_transforms)
    self.latent_gain = bool(latent_gain)
    self.num_filters = num_filters
    self.num_latent_filters = num_latent_filters or num_filters
    self.scale_table = hyperprior_codec.ScaleTable(
      num_scales, float(scale_min), float(scale_max)
    )
    self.conditioning_layer_sizes = [int(s) for s in conditioning_layer_sizes]
    self._postprocessing = conditioning_postprocessing
    # Numbers, 'centre' or None; `initialize_model` resolves 'centre'.
    self._configured_input_offset = contract.check_input_offset(
      conditioning_input_offset,
      None,
      "HyperpriorCompressionProblem",
      LOSS_NAMES,
    )
    self.conditioning_input_offset = self._configured_input_offset
    self.features_key = features_key
    self.conditioned = None
    self.analysis_transform = None
    self.synthesis_transform = None
    self.hyper_analysis_transform = None
    self.hyper_synthesis_transform = None
    self.hyperprior = None
    self.codec = None

  @property
  def losses_keys(self) -> Tuple[str, ...]:
    return LOSS_NAMES

  @property
  def num_scales(self) -> int:
    return self.scale_table.num_scales

  @property
  def scale_min(self) -> float:
    return self.scale_table.scale_min

  @property
  def scale_max(self) -> float:
    return self.scale_table.scale_max

  def initialize_model(
    self, element_spec, num_conditioning_inputs, conditioning=None
  ):
    if self.features_key not in element_spec:
      raise ValueError(
        f"HyperpriorCompressionProblem.features_key={self.features_key!r} "
        f"is not a feature of the dataset; it has {sorted(element_spec)}."
      )
    shape = tuple(element_spec[self.features_key].shape[1:])
    if len(shape) != 3 or shape[-1] != 3:
      raise ValueError(
        f"The compression model codes RGB images [H, W, 3]; the feature "
        f"{self.features_key!r} has shape {shape}."
      )
    self.conditioned = num_conditioning_inputs is not None
    self.num_conditioning_inputs = num_conditioning_inputs
    self.conditioning_input_offset = contract.resolve_input_offset(
      self._configured_input_offset,
      num_conditioning_inputs,
      conditioning,
      "HyperpriorCompressionProblem",
      LOSS_NAMES,
    )
    postprocessing = (
      default_postprocessing()
      if self._postprocessing is None
      else conditioning_layers.resolve_postprocessing(self._postprocessing)
    )

    def transform(specs, name, gain=None):
      return hyperprior.ConditionalTransform(
        specs,
        self.conditioned and name not in self.unconditioned_transforms,
        self.conditioning_layer_sizes,
        postprocessing,
        self.conditioning_input_offset,
        gain=gain if self.latent_gain else None,
        name=name,
      )

    n, m = self.num_filters, self.num_latent_filters
    self.analysis_transform = transform(
      hyperprior.analysis_specs(n, m), "analysis", gain="output"
    )
    self.synthesis_transform = transform(
      hyperprior.synthesis_specs(n), "synthesis", gain="input"
    )
    self.hyper_analysis_transform = transform(
      hyperprior.hyper_analysis_specs(n), "hyper_analysis"
    )
    self.hyper_synthesis_transform = transform(
      hyperprior.hyper_synthesis_specs(n, m), "hyper_synthesis"
    )
    self.hyperprior = tfc.NoisyDeepFactorized(batch_shape=(n,))
    self.codec = hyperprior_codec.HyperpriorCodec(
      hyperprior_codec.Transforms(
        self.analysis_transform,
        self.synthesis_transform,
        self.hyper_analysis_transform,
        self.hyper_synthesis_transform,
      ),
      self.hyperprior,
      self.scale_table,
      n,
      self.conditioned,
    )
    # One noisy pass builds every variable.
    inputs_extra = (
      tf.zeros([1, num_conditioning_inputs]) if self.conditioned else None
    )
    self.codec.noisy_pass(
      tf.zeros([1, 64, 64, 3]), inputs_extra, tf.constant([0, 0], tf.int64)
    )

  # -- The Problem interface. ------------------------------------------------

  def losses_and_metrics(
    self, features, inputs_extra=None, training=False, seed=None
  ):
    images = features[self.features_key]
    if training:
      return self._training_losses(images, inputs_extra, seed)
    return self._evaluation_losses(images, inputs_extra)

  def _training_losses(self, images, inputs_extra, seed):
    if seed is None:
      seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
    x_tilde, bits, side_bits = self.codec.noisy_pass(images, inputs_extra, seed)
    distortion = image_metrics.mse_255(images, x_tilde)
    losses = {
      "rate": (bits + side_bits) / _num_pixels(images),
      "distortion": distortion,
    }
    return losses, {"psnr": image_metrics.psnr(images, x_tilde)}

  def _evaluation_losses(self, images, inputs_extra):
    models = self.codec.entropy_models(stateless=True)
    result = self.codec.quantized_pass(images, inputs_extra, models)
    num_pixels = _num_pixels(images)
    rate = (result.bits + result.side_bits) / num_pixels
    latent_strings = models.latent.compress(result.y, result.indexes)
    hyper_latent_strings = models.hyper_latent.compress(result.z)
    num_bytes = tf.strings.length(latent_strings) + tf.strings.length(
      hyper_latent_strings
    )
    metrics = image_metrics.image_metrics(
      images, image_metrics.to_8bit(result.x_hat)
    )
    metrics.update(
      estimated_bpp=rate,
      actual_bpp=8.0 * tf.cast(num_bytes, tf.float32) / num_pixels,
      side_information_bpp=result.side_bits / num_pixels,
    )
    losses = {
      "rate": rate,
      "distortion": image_metrics.mse_255(images, result.x_hat),
    }
    return losses, metrics

  def reconstruct(
    self, images: tf.Tensor, inputs_extra: Optional[tf.Tensor] = None
  ) -> Tuple[tf.Tensor, tf.Tensor]:
    """(reconstructions [B, H, W, 3] clipped to [0, 1], estimated bpp [B])."""
    result = self.codec.quantized_pass(
      images, inputs_extra, self.codec.entropy_models(stateless=True)
    )
    rate = (result.bits + result.side_bits) / _num_pixels(images)
    return tf.clip_by_value(result.x_hat, 0.0, 1.0), rate

  def image_summaries(self, features, inputs_extra):
    images = features[self.features_key]
    reconstructions, _ = self.reconstruct(images, inputs_extra)
    return {"inputs": images, "reconstructions": reconstructions}

  def export_module(self, conditioning):
    return compression_export.CompressionExportModule(self, conditioning)
