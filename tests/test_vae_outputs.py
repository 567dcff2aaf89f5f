"""Tests of yoto.analysis.vae_outputs with a stand-in for a hub module.

The stand-in has the signatures of an exported VAE module and records its
calls, so the tests see exactly what the grid asks of a module. A real
exported module is exercised by tests/test_notebooks.py and
tests/test_plot_cli.py.
"""

import numpy as np
import pytest
import tensorflow as tf

from yoto.analysis import vae_outputs
from yoto.clients import vae

LATENT = 3


class FakeVaeSignatures:
  """reconstruct_at_beta / sample_at_beta: outputs scale with β."""

  def __init__(self):
    self.noise_seen = []

  def reconstruct_at_beta(self, image, beta):
    return {"reconstructions": image / (1.0 + beta)}

  def sample_at_beta(self, noise, beta):
    self.noise_seen.append(noise.numpy())
    pixels = tf.reduce_mean(noise, axis=-1)[:, None, None, None] * beta
    return {"image_samples": tf.tile(pixels, [1, 4, 4, 3])}


def _module(conditioned=True):
  metadata = {
    "latent_dimensions": LATENT,
    "loss_names": ["kl_loss", "reconstruction_loss"],
    "preprocessing": "log" if conditioned else None,
    "ranges": {"kl_loss": [0.5, 512.0], "reconstruction_loss": [0.999, 1.001]}
    if conditioned
    else None,
  }
  return vae.VaeClient(
    path="/runs/a/hub_modules/step-000000020",
    module=FakeVaeSignatures(),
    metadata=metadata,
  )


def test_default_betas_span_the_training_range_log_uniformly():
  np.testing.assert_allclose(
    vae_outputs.default_betas(_module()), [0.5, 2, 8, 32, 128, 512], rtol=1e-6
  )
  np.testing.assert_array_equal(
    vae_outputs.default_betas(_module(conditioned=False)), [1.0]
  )


@pytest.mark.parametrize(
  "betas, message",
  [
    ([2.0, 1000.0], r"β=1000 is outside \[0.5, 512\]"),
    ([0.0], "must be a positive number"),
    ([], "at least one"),
  ],
)
def test_bad_betas_are_rejected_before_calling_the_module(betas, message):
  module = _module()
  with pytest.raises(ValueError, match=message):
    vae_outputs.beta_grid(module, np.zeros((2, 4, 4, 3)), betas)
  assert not module.module.noise_seen


def test_fixed_weight_module_accepts_any_positive_beta():
  module = _module(conditioned=False)
  np.testing.assert_array_equal(vae_outputs.check_betas(module, [1e4]), [1e4])


def test_beta_grid_uses_the_same_noise_for_every_beta():
  module = _module()
  images = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 3))
  grid = vae_outputs.beta_grid(
    module, images, [0.5, 8.0, 128.0], num_samples=5, seed=3
  )
  assert grid.reconstructions.shape == (3, 2, 4, 4, 3)
  assert grid.samples.shape == (3, 5, 4, 4, 3)
  seen = module.module.noise_seen
  assert len(seen) == 3 and seen[0].shape == (5, LATENT)
  for noise in seen[1:]:
    np.testing.assert_array_equal(noise, seen[0])
  np.testing.assert_allclose(grid.reconstructions[1], images / 9.0, rtol=1e-5)
  np.testing.assert_allclose(
    grid.samples[2], grid.samples[0] * 256.0, rtol=1e-4
  )
  assert grid.value_range == (-1.0, 1.0)
  assert grid.title == "YOTO model a, step-000000020"


def test_noise_is_fixed_by_the_seed_and_images_in_0_1_display_as_such():
  module = _module()
  np.testing.assert_array_equal(
    vae_outputs.make_noise(module, 4, seed=1),
    vae_outputs.make_noise(module, 4, seed=1),
  )
  assert not np.array_equal(
    vae_outputs.make_noise(module, 4, seed=1),
    vae_outputs.make_noise(module, 4, seed=2),
  )
  grid = vae_outputs.beta_grid(module, np.full((2, 4, 4, 3), 0.5), [1.0])
  assert grid.value_range == (0.0, 1.0)


def test_load_images_gives_preprocessed_test_images():
  images = vae_outputs.load_images(3, split="test")
  assert images.shape == (3, 32, 32, 3)
  assert images.min() >= -1.0 and images.max() <= 1.0
  assert images.min() < 0.0  # value_range(-1,1), not [0, 1].
