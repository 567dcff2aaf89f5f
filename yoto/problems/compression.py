"""Variable-rate learned image compression: a λ-conditioned scale hyperprior.

The model is the scale hyperprior of Ballé et al. (2018) as tensorflow-
compression builds it (`models/bmshj2018.py`): transforms g_a, g_s, h_a, h_s
(see `yoto.architectures.hyperprior`), a `tfc.NoisyDeepFactorized` prior for
the hyper-latent z and a `tfc.NoisyNormal` with a log-spaced scale table,
indexed by h_s(z_hat), for the latent y. YOTO (Dosovitskiy & Djolonga 2020,
§4.2 and appendix A.2) FiLM-conditions every convolution on λ, so one model
serves every rate-distortion trade-off in the training range.

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
176 pixels (see `yoto.problems.image_metrics.ms_ssim`); optionally log λ is centred inside the network
(`conditioning_input_offset`), which makes FiLM learn the λ-dependence much
faster in short runs without changing the function class.
"""

import math
from typing import NamedTuple, Optional, Sequence, Tuple

import tensorflow as tf
import tensorflow_compression as tfc

from yoto.architectures import conditioning as conditioning_layers
from yoto.architectures import hyperprior
from yoto.export import compression as compression_export
from yoto.problems import base
from yoto.problems import image_metrics
from yoto.weights import contract

LOSS_NAMES = ("distortion", "rate")
# The four transforms, by their layer names.
TRANSFORMS = ("analysis", "synthesis", "hyper_analysis", "hyper_synthesis")


class EntropyModels(NamedTuple):
  """The two range-coding entropy models (built with `compression=True`)."""
  latent: tfc.LocationScaleIndexedEntropyModel
  hyper_latent: tfc.ContinuousBatchedEntropyModel


class QuantizedPass(NamedTuple):
  """Everything one deterministic (quantized) pass computes.

  Shapes for a [B, H, W, 3] batch, C filters, h = ceil(H/16), w = ceil(W/16):
  y, y_hat, indexes [B, h, w, C]; z, z_hat [B, ceil(h/4), ceil(w/4), C];
  x_hat [B, H, W, 3] (unclipped); bits, side_bits [B].
  """
  y: tf.Tensor
  z: tf.Tensor
  y_hat: tf.Tensor
  z_hat: tf.Tensor
  indexes: tf.Tensor
  x_hat: tf.Tensor
  bits: tf.Tensor
  side_bits: tf.Tensor


def bits_of(log_probs: tf.Tensor) -> tf.Tensor:
  """-Σ log2 p over the last three axes: [B, h, w, C] -> [B]."""
  return tf.reduce_sum(log_probs, axis=[1, 2, 3]) / -math.log(2.0)


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
      scales_mult=0.01, scales_add=1.0, shifts_mult=0.01, shifts_add=0.0)


def _check_positive(name, value):
  if not value > 0:
    raise ValueError(f"HyperpriorCompressionProblem.{name} must be positive, "
                     f"got {value!r}.")


class _CompiledFunctions:
  """A plain holder, so that tf.Module does not track (and export) these."""
  hyper_latent_tables = None


class HyperpriorCompressionProblem(base.Problem):
  """The scale-hyperprior codec with every convolution conditioned on λ."""

  def __init__(self, num_filters: int = 192, num_scales: int = 64,
               scale_min: float = 0.11, scale_max: float = 256.0,
               conditioning_layer_sizes: Sequence[int] = (128,),
               conditioning_postprocessing=None,
               conditioning_input_offset: Optional[Sequence[float]] = None,
               features_key: str = "image",
               num_latent_filters: Optional[int] = None,
               unconditioned_transforms: Sequence[str] = (),
               name: Optional[str] = None):
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
        The conditioning contract (inputs_extra = log [λ, 1]) is unchanged.
      features_key: the feature holding [B, H, W, 3] images in [0, 1].
      num_latent_filters: channels of the latent y (Ballé et al.'s M, which
        they set above N for high rates: 192 / 320); None uses
        `num_filters`, as the YOTO paper does. y has M values per 16x16x3 =
        768 pixel values, so a small M caps the quality no number of bits
        can buy.
      unconditioned_transforms: names among TRANSFORMS left without FiLM in
        a conditioned model (an ablation of FiLM's placement; the paper
        conditions all four).
      name: tf.Module name.
    """
    super().__init__(name=name)
    if not isinstance(num_filters, int) or num_filters <= 0:
      raise ValueError("HyperpriorCompressionProblem.num_filters must be a "
                       f"positive int, got {num_filters!r}.")
    if not isinstance(num_scales, int) or num_scales < 2:
      raise ValueError("HyperpriorCompressionProblem.num_scales must be an "
                       f"int >= 2, got {num_scales!r}.")
    _check_positive("scale_min", scale_min)
    _check_positive("scale_max", scale_max)
    if not scale_max > scale_min:
      raise ValueError("HyperpriorCompressionProblem needs scale_max > "
                       f"scale_min, got {scale_max} <= {scale_min}.")
    if num_latent_filters is not None and (
        not isinstance(num_latent_filters, int) or num_latent_filters <= 0):
      raise ValueError("HyperpriorCompressionProblem.num_latent_filters must "
                       f"be a positive int or None, got {num_latent_filters!r}.")
    unknown = set(unconditioned_transforms) - set(TRANSFORMS)
    if unknown:
      raise ValueError("HyperpriorCompressionProblem.unconditioned_transforms "
                       f"names {sorted(unknown)}; the transforms are "
                       f"{list(TRANSFORMS)}.")
    self.unconditioned_transforms = tuple(unconditioned_transforms)
    self.num_filters = num_filters
    self.num_latent_filters = num_latent_filters or num_filters
    self.num_scales = num_scales
    self.scale_min = float(scale_min)
    self.scale_max = float(scale_max)
    self.conditioning_layer_sizes = [int(s) for s in conditioning_layer_sizes]
    self._postprocessing = conditioning_postprocessing
    self.conditioning_input_offset = (
        None if conditioning_input_offset is None else
        [float(v) for v in conditioning_input_offset])
    self.features_key = features_key
    self.conditioned = None
    self.analysis_transform = None
    self.synthesis_transform = None
    self.hyper_analysis_transform = None
    self.hyper_synthesis_transform = None
    self.hyperprior = None
    self._compiled = _CompiledFunctions()

  @property
  def losses_keys(self) -> Tuple[str, ...]:
    return LOSS_NAMES

  def initialize_model(self, element_spec, num_conditioning_inputs):
    if self.features_key not in element_spec:
      raise ValueError(
          f"HyperpriorCompressionProblem.features_key={self.features_key!r} "
          f"is not a feature of the dataset; it has {sorted(element_spec)}.")
    shape = tuple(element_spec[self.features_key].shape[1:])
    if len(shape) != 3 or shape[-1] != 3:
      raise ValueError(
          f"The compression model codes RGB images [H, W, 3]; the feature "
          f"{self.features_key!r} has shape {shape}.")
    self.conditioned = num_conditioning_inputs is not None
    self.num_conditioning_inputs = num_conditioning_inputs
    contract.check_input_offset(
        self.conditioning_input_offset, num_conditioning_inputs,
        "HyperpriorCompressionProblem", LOSS_NAMES)
    postprocessing = (default_postprocessing() if self._postprocessing is None
                      else conditioning_layers.resolve_postprocessing(
                          self._postprocessing))

    def transform(specs, name):
      return hyperprior.ConditionalTransform(
          specs, self.conditioned and name not in self.unconditioned_transforms,
          self.conditioning_layer_sizes,
          postprocessing, self.conditioning_input_offset, name=name)

    n, m = self.num_filters, self.num_latent_filters
    self.analysis_transform = transform(hyperprior.analysis_specs(n, m),
                                        "analysis")
    self.synthesis_transform = transform(hyperprior.synthesis_specs(n),
                                         "synthesis")
    self.hyper_analysis_transform = transform(
        hyperprior.hyper_analysis_specs(n), "hyper_analysis")
    self.hyper_synthesis_transform = transform(
        hyperprior.hyper_synthesis_specs(n, m), "hyper_synthesis")
    self.hyperprior = tfc.NoisyDeepFactorized(batch_shape=(n,))
    # One noisy pass builds every variable.
    inputs_extra = (tf.zeros([1, num_conditioning_inputs])
                    if self.conditioned else None)
    self._noisy_pass(tf.zeros([1, 64, 64, 3]), inputs_extra,
                     tf.constant([0, 0], tf.int64))

  # -- The entropy models. ---------------------------------------------------

  def scale_fn(self, indexes: tf.Tensor) -> tf.Tensor:
    """The scale table: index i in [0, num_scales) -> a log-spaced scale."""
    log_min = math.log(self.scale_min)
    step = (math.log(self.scale_max) - log_min) / (self.num_scales - 1)
    return tf.math.exp(log_min + step * tf.cast(indexes, tf.float32))

  def latent_prior(self, indexes: tf.Tensor) -> tfc.NoisyNormal:
    """p(y | z): zero-mean NoisyNormal with scales indexed by h_s(z).

    Indexes are bounded to the table like the indexed entropy model does
    (with gradients passing where they point back into the range).
    """
    indexes = tfc.lower_bound(indexes, 0.0)
    indexes = tfc.upper_bound(indexes, float(self.num_scales - 1))
    return tfc.NoisyNormal(loc=0.0, scale=self.scale_fn(indexes))

  def _hyper_latent_tables(self):
    """(cdf, cdf_offset, quantization_offset) of the hyperprior's coder.

    Locating the prior's tails and median runs small optimisation loops, which
    take seconds op by op; a compiled function (variables are read at run
    time, so restoring a checkpoint needs no retrace) makes it a fraction of
    a second.
    """
    if self._compiled.hyper_latent_tables is None:
      def tables():
        model = tfc.ContinuousBatchedEntropyModel(
            self.hyperprior, coding_rank=3, compression=True, stateless=True)
        return model.cdf, model.cdf_offset, model.quantization_offset
      self._compiled.hyper_latent_tables = tf.function(tables)
    return self._compiled.hyper_latent_tables()

  def entropy_models(self, stateless: bool = True) -> EntropyModels:
    """Entropy models with range-coding tables built from the current prior.

    Args:
      stateless: tables as tensors (to build inside a `tf.function`, as the
        evaluation does each batch) or as variables (for a SavedModel, so the
        encoder and decoder use identical tables).
    """
    latent = tfc.LocationScaleIndexedEntropyModel(
        tfc.NoisyNormal, self.num_scales, self.scale_fn, coding_rank=3,
        compression=True, stateless=stateless)
    cdf, cdf_offset, offset = self._hyper_latent_tables()
    hyper_latent = tfc.ContinuousBatchedEntropyModel(
        prior_shape=(self.num_filters,), coding_rank=3, compression=True,
        stateless=stateless, cdf=cdf, cdf_offset=cdf_offset,
        quantization_offset=offset)
    return EntropyModels(latent, hyper_latent)

  # -- The forward passes. ---------------------------------------------------

  def _check_conditioning(self, inputs_extra):
    if self.conditioned and inputs_extra is None:
      raise ValueError("This compression model is conditioned on λ and "
                       "needs inputs_extra.")
    return inputs_extra if self.conditioned else None

  def _indexes(self, z_hat, y_shape, inputs_extra):
    """h_s(z_hat) cropped to the latent's [h, w]: the scale indexes."""
    indexes = self.hyper_synthesis_transform(z_hat, inputs_extra)
    return hyperprior.crop_like(indexes, y_shape[1], y_shape[2])

  def _synthesize(self, y_hat, image_height, image_width, inputs_extra):
    x_hat = self.synthesis_transform(y_hat, inputs_extra)
    return hyperprior.crop_like(x_hat, image_height, image_width)

  def analyze(self, images: tf.Tensor, inputs_extra: Optional[tf.Tensor]
              ) -> Tuple[tf.Tensor, tf.Tensor]:
    """(y, z) of [B, H, W, 3] images; see `QuantizedPass` for shapes."""
    inputs_extra = self._check_conditioning(inputs_extra)
    y = self.analysis_transform(images, inputs_extra)
    z = self.hyper_analysis_transform(tf.abs(y), inputs_extra)
    return y, z

  def _noisy_pass(self, images, inputs_extra, seed):
    """Training: latents plus U(-.5, .5) noise; returns (x~, bits, side_bits).
    """
    inputs_extra = self._check_conditioning(inputs_extra)
    y, z = self.analyze(images, inputs_extra)
    y_seed, z_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    z_tilde = z + tf.random.stateless_uniform(tf.shape(z), z_seed, -0.5, 0.5)
    y_tilde = y + tf.random.stateless_uniform(tf.shape(y), y_seed, -0.5, 0.5)
    side_bits = bits_of(self.hyperprior.log_prob(z_tilde))
    indexes = self._indexes(z_tilde, tf.shape(y), inputs_extra)
    bits = bits_of(self.latent_prior(indexes).log_prob(y_tilde))
    shape = tf.shape(images)
    x_tilde = self._synthesize(y_tilde, shape[1], shape[2], inputs_extra)
    return x_tilde, bits, side_bits

  def quantized_pass(self, images: tf.Tensor,
                     inputs_extra: Optional[tf.Tensor],
                     models: EntropyModels) -> QuantizedPass:
    """The codec's deterministic pass: quantized latents and their bits.

    y is rounded to integers and z to the hyper-latent model's quantization
    offsets, exactly as `compress` does, so `x_hat` is what `decompress`
    returns (before clipping). The bits are the Shannon information of the
    quantized latents, a tight estimate of the range-coded length.
    """
    inputs_extra = self._check_conditioning(inputs_extra)
    y, z = self.analyze(images, inputs_extra)
    z_hat = models.hyper_latent.quantize(z)
    side_bits = bits_of(self.hyperprior.log_prob(z_hat))
    indexes = self._indexes(z_hat, tf.shape(y), inputs_extra)
    y_hat = models.latent.quantize(y)
    bits = bits_of(self.latent_prior(indexes).log_prob(y_hat))
    shape = tf.shape(images)
    x_hat = self._synthesize(y_hat, shape[1], shape[2], inputs_extra)
    return QuantizedPass(y, z, y_hat, z_hat, indexes, x_hat, bits, side_bits)

  def compress(self, images: tf.Tensor, inputs_extra: Optional[tf.Tensor],
               models: EntropyModels) -> Tuple[tf.Tensor, tf.Tensor]:
    """Range codes images: (latent strings [B], hyper-latent strings [B])."""
    inputs_extra = self._check_conditioning(inputs_extra)
    y, z = self.analyze(images, inputs_extra)
    z_hat = models.hyper_latent.quantize(z)
    indexes = self._indexes(z_hat, tf.shape(y), inputs_extra)
    return (models.latent.compress(y, indexes),
            models.hyper_latent.compress(z))

  def decompress(self, latent_strings: tf.Tensor,
                 hyper_latent_strings: tf.Tensor, image_shape: tf.Tensor,
                 inputs_extra: Optional[tf.Tensor],
                 models: EntropyModels) -> tf.Tensor:
    """Decodes strings [B] of [H, W] = image_shape images: x_hat [B, H, W, 3].

    The latent shapes follow from the image shape (`latent_shapes`); the
    result is unclipped, like `quantized_pass(...).x_hat`.
    """
    inputs_extra = self._check_conditioning(inputs_extra)
    image_shape = tf.cast(image_shape, tf.int32)
    y_shape, z_shape = latent_shapes(image_shape)
    z_hat = models.hyper_latent.decompress(hyper_latent_strings, z_shape)
    batch = tf.shape(latent_strings)[0]
    indexes = self._indexes(
        z_hat, tf.stack([batch, y_shape[0], y_shape[1]]), inputs_extra)
    y_hat = models.latent.decompress(latent_strings, indexes)
    return self._synthesize(y_hat, image_shape[0], image_shape[1],
                            inputs_extra)

  # -- The Problem interface. ------------------------------------------------

  def losses_and_metrics(self, features, inputs_extra=None, training=False,
                         seed=None):
    images = features[self.features_key]
    if training:
      return self._training_losses(images, inputs_extra, seed)
    return self._evaluation_losses(images, inputs_extra)

  def _training_losses(self, images, inputs_extra, seed):
    if seed is None:
      seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
    x_tilde, bits, side_bits = self._noisy_pass(images, inputs_extra, seed)
    distortion = image_metrics.mse_255(images, x_tilde)
    losses = {"rate": (bits + side_bits) / _num_pixels(images),
              "distortion": distortion}
    return losses, {"psnr": image_metrics.psnr(images, x_tilde)}

  def _evaluation_losses(self, images, inputs_extra):
    models = self.entropy_models(stateless=True)
    result = self.quantized_pass(images, inputs_extra, models)
    num_pixels = _num_pixels(images)
    rate = (result.bits + result.side_bits) / num_pixels
    latent_strings = models.latent.compress(result.y, result.indexes)
    hyper_latent_strings = models.hyper_latent.compress(result.z)
    num_bytes = (tf.strings.length(latent_strings) +
                 tf.strings.length(hyper_latent_strings))
    metrics = image_metrics.image_metrics(
        images, image_metrics.to_8bit(result.x_hat))
    metrics.update(
        estimated_bpp=rate,
        actual_bpp=8.0 * tf.cast(num_bytes, tf.float32) / num_pixels,
        side_information_bpp=result.side_bits / num_pixels)
    losses = {"rate": rate, "distortion": image_metrics.mse_255(images, result.x_hat)}
    return losses, metrics

  def reconstruct(self, images: tf.Tensor,
                  inputs_extra: Optional[tf.Tensor] = None
                  ) -> Tuple[tf.Tensor, tf.Tensor]:
    """(reconstructions [B, H, W, 3] clipped to [0, 1], estimated bpp [B])."""
    result = self.quantized_pass(images, inputs_extra,
                                 self.entropy_models(stateless=True))
    rate = (result.bits + result.side_bits) / _num_pixels(images)
    return tf.clip_by_value(result.x_hat, 0.0, 1.0), rate

  def image_summaries(self, features, inputs_extra):
    images = features[self.features_key]
    reconstructions, _ = self.reconstruct(images, inputs_extra)
    return {"inputs": images, "reconstructions": reconstructions}

  def export_module(self, conditioning):
    return compression_export.CompressionExportModule(self, conditioning)


def latent_shapes(image_shape: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """Spatial shapes [2] of y and z for an image of spatial shape [2]."""
  return (hyperprior.downsampled_size(image_shape, hyperprior.LATENT_STRIDE),
          hyperprior.downsampled_size(image_shape,
                                      hyperprior.HYPER_LATENT_STRIDE))
