"""The β-VAE's hub module; see DESIGN.md, "Exported hub modules"."""

import tensorflow as tf

from yoto.export import base
from yoto.weights import contract


class VaeExportModule(base.ExportModule):
  """What a VAE hub module offers.

  Signatures (`inputs_extra` only for conditioned models):
    reconstruct(image, inputs_extra) -> {reconstructions}
    reconstruct_with_extras(image, inputs_extra) -> {reconstructions,
        reconstruction_log_sigmas | reconstruction_logits, latent_means,
        latent_log_sigmas, encoder_*/decoder_* endpoints}
    sample(noise, inputs_extra) -> {samples}
    sample_with_extras(noise, inputs_extra) -> {image_samples, ...}
    reconstruct_at_weights(image, loss_weights), sample_at_weights(noise,
        loss_weights): raw weights [n] or [batch, n] in `loss_names` order,
        checked and preprocessed inside.
    reconstruct_at_beta(image, beta), sample_at_beta(noise, beta): the same
        with weights [β, 1] for a scalar or per-example [batch] β.
    metadata() -> {metadata: JSON string}
  `__call__` is `reconstruct` (inputs `[image, inputs_extra]`, or `image`
  for a fixed-weight model).
  """

  def __init__(self, problem, conditioning: contract.LossConditioning):
    """Exports a built `ConditionalVaeProblem` with its contract."""
    super().__init__(
      "yoto_vae",
      problem,
      problem.variables,
      conditioning,
      {
        "problem": "ConditionalVaeProblem",
        "output_distribution": problem.output_distribution,
        "image_shape": list(problem.image_shape),
        "latent_dimensions": problem.latent_dimensions,
      },
    )
    # Any size is accepted by the signature and checked in the graph, so
    # that a wrong size or channel count is an InvalidArgumentError saying
    # what the module expects (not a failed signature match in Python).
    image = tf.TensorSpec([None, None, None, None], tf.float32, "image")
    noise = tf.TensorSpec(
      [None, problem.latent_dimensions], tf.float32, "noise"
    )
    extra = tf.TensorSpec(
      [None, conditioning.num_losses], tf.float32, "inputs_extra"
    )
    weights = tf.TensorSpec(None, tf.float32, "loss_weights")
    beta = tf.TensorSpec(None, tf.float32, "beta")
    add = self.add_signature
    if conditioning.is_conditioned:
      add(
        "reconstruct",
        lambda image, inputs_extra: {
          "reconstructions": self._reconstruct(image, inputs_extra)[0]
        },
        image,
        extra,
        default=True,
      )
      add("reconstruct_with_extras", self._reconstruct_dict, image, extra)
      add(
        "sample",
        lambda noise, inputs_extra: {
          "samples": self._sample(noise, inputs_extra)[0]
        },
        noise,
        extra,
      )
      add("sample_with_extras", self._sample_dict, noise, extra)
    else:
      add(
        "reconstruct",
        lambda image: {"reconstructions": self._reconstruct(image, None)[0]},
        image,
        default=True,
      )
      add(
        "reconstruct_with_extras",
        lambda image: self._reconstruct_dict(image, None),
        image,
      )
      add(
        "sample", lambda noise: {"samples": self._sample(noise, None)[0]}, noise
      )
      add(
        "sample_with_extras",
        lambda noise: self._sample_dict(noise, None),
        noise,
      )
    add(
      "reconstruct_at_weights",
      lambda image, loss_weights: self._at_weights(
        self._reconstruct_dict, image, loss_weights
      ),
      image,
      weights,
    )
    add(
      "sample_at_weights",
      lambda noise, loss_weights: self._at_weights(
        self._sample_dict, noise, loss_weights
      ),
      noise,
      weights,
    )
    add(
      "reconstruct_at_beta",
      lambda image, beta: self._at_weights(
        self._reconstruct_dict, image, base.weight_and_one(beta)
      ),
      image,
      beta,
    )
    add(
      "sample_at_beta",
      lambda noise, beta: self._at_weights(
        self._sample_dict, noise, base.weight_and_one(beta)
      ),
      noise,
      beta,
    )
    self.add_metadata_signature()

  def _checked_images(self, image):
    """`image` [B, H, W, C] with H, W, C checked against the model's."""
    expected = list(self._problem.value.image_shape)
    check = tf.debugging.assert_equal(
      tf.shape(image)[1:],
      tf.constant(expected, tf.int32),
      message=(
        f"This module reconstructs images of shape [batch, "
        f"{', '.join(map(str, expected))}]; resize or crop the "
        "input (its shape follows)"
      ),
    )
    with tf.control_dependencies([check]):
      return tf.ensure_shape(tf.identity(image), [None, *expected])

  def _reconstruct(self, image, inputs_extra):
    return self._problem.value.reconstruct(
      self._checked_images(image), inputs_extra
    )

  def _sample(self, noise, inputs_extra):
    return self._problem.value.sample(noise, inputs_extra)

  def _at_weights(self, fn, batch_tensor, loss_weights):
    """Calls fn(batch_tensor, inputs_extra) with checked raw weights."""
    batch_tensor, inputs_extra = self.inputs_extra_at(
      loss_weights, batch_tensor
    )
    return fn(batch_tensor, inputs_extra)

  def _reconstruct_dict(self, image, inputs_extra):
    reconstructions, extras = self._reconstruct(image, inputs_extra)
    return {"reconstructions": reconstructions, **extras}

  def _sample_dict(self, noise, inputs_extra):
    samples, extras = self._sample(noise, inputs_extra)
    return {"image_samples": samples, **extras}
