"""The β-VAE module's client: reconstructions and samples at any β.

β is the weight of the KL loss relative to the reconstruction loss (loss
weights [β, 1] in sorted loss order, the module's `*_at_beta` signatures).
A YOTO module takes any β of its training range; a fixed-weight module
ignores β (any positive β gives its one model).
"""

import numpy as np
import tensorflow as tf

from yoto.clients import base

BETA_LOSS = "kl_loss"  # `*_at_beta` use weights [β, 1] for the VAE's losses.


class VaeClient(base.ModuleClient):
  """A VAE hub module and what its metadata says about it."""

  PROBLEM = "ConditionalVaeProblem"
  KIND = "VAE"
  SIGNATURES = ("reconstruct_at_beta", "sample_at_beta")

  @property
  def latent_dimensions(self) -> int:
    return int(self.metadata["latent_dimensions"])

  @property
  def beta_range(self):
    """(low, high) of β in training; None for a fixed-weight module."""
    return self.range_of(BETA_LOSS)

  def check_beta(self, beta: float) -> float:
    """`beta` as a float; ClientError for a non-positive or untrained one."""
    return self.check_weight(BETA_LOSS, beta, "β")

  def reconstruct(self, images: np.ndarray, beta: float) -> np.ndarray:
    """Reconstructions [N, H, W, C] of images [N, H, W, C] at β."""
    beta = self.check_beta(beta)
    return self.module.reconstruct_at_beta(
      image=tf.constant(images, tf.float32), beta=tf.constant(beta, tf.float32)
    )["reconstructions"].numpy()

  def sample(self, noise: np.ndarray, beta: float) -> np.ndarray:
    """Samples [N, H, W, C] decoded from latents `noise` [N, latent] at β."""
    beta = self.check_beta(beta)
    return self.module.sample_at_beta(
      noise=tf.constant(noise, tf.float32), beta=tf.constant(beta, tf.float32)
    )["image_samples"].numpy()
