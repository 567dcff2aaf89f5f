"""Tests of yoto.problems.image_metrics: MSE, PSNR, MS-SSIM, luminance SSIM."""

import numpy as np
import pytest
import tensorflow as tf

from yoto.problems import image_metrics
from yoto.utils import photo_patches


def test_distortion_is_mse_on_the_255_scale():
  images = tf.fill([1, 4, 4, 3], 0.5)
  np.testing.assert_allclose(
    image_metrics.mse_255(images, images + 2.0 / 255.0), [4.0], rtol=1e-5
  )


def test_psnr_is_per_example_and_capped_for_equal_images():
  images = tf.fill([2, 4, 4, 3], 0.5)
  # An MSE of 1/100 of the range squared is 20 dB.
  reconstructions = tf.stack([images[0] + 0.1, images[1]])
  np.testing.assert_allclose(
    image_metrics.psnr(images, reconstructions),
    [20.0, image_metrics.MAX_PSNR_DB],
    rtol=1e-6,
  )
  uint8 = tf.fill([4, 4, 3], tf.constant(100, tf.uint8))
  np.testing.assert_allclose(
    image_metrics.psnr(uint8, uint8 + 10, max_val=255),
    10 * np.log10(255.0**2 / 100.0),
    rtol=1e-6,
  )


@pytest.mark.parametrize(
  "size,scales", [(176, 5), (175, 4), (64, 3), (32, 2), (12, 1), (None, 5)]
)
def test_ms_ssim_uses_the_scales_that_fit(size, scales):
  assert image_metrics.ms_ssim_scales(size, size) == scales


def test_ms_ssim_is_one_for_identical_images_and_lower_otherwise():
  photo = photo_patches.load_photo("astronaut")[..., :3] / 255.0
  images = tf.constant(
    np.stack([photo[100:164, 100:164], photo[200:264, 50:114]]), tf.float32
  )
  np.testing.assert_allclose(
    image_metrics.ms_ssim(images, images), 1.0, atol=1e-5
  )
  noisy = tf.clip_by_value(
    images + tf.random.normal(images.shape, 0, 0.1, seed=5), 0, 1
  )
  assert np.all(image_metrics.ms_ssim(images, noisy).numpy() < 0.99)


def test_luminance_ssim_ignores_colour_but_not_structure():
  photo = photo_patches.load_photo("astronaut")[..., :3] / 255.0
  images = tf.constant(photo[None, 100:164, 100:164], tf.float32)
  grey = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(images))
  np.testing.assert_allclose(
    image_metrics.luminance_ssim(grey, images), [1.0], atol=1e-5
  )
  # Another part of the photo: about as much structure, none of it shared.
  other = tf.constant(photo[None, 300:364, 300:364], tf.float32)
  assert image_metrics.luminance_ssim(other, images).numpy()[0] < 0.5
  # 8 pixels: the window shrinks instead of failing.
  small = images[:, :8, :8]
  assert image_metrics.luminance_ssim(small, small).shape == (1,)


def test_luminance_ssim_stays_within_its_range_for_nearly_equal_images():
  # Unclipped, tf.image.ssim gives 1 + 2e-7 here.
  images = tf.random.uniform([64, 16, 16, 3], seed=1)
  nearly = images + 1e-6 * tf.random.uniform(images.shape, seed=2)
  assert float(tf.reduce_max(image_metrics.luminance_ssim(nearly, images))) <= 1
