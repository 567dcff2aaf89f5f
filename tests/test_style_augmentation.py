"""Augmentation of training style images: seeded, bounded, what it says."""

import numpy as np
import pytest
import tensorflow as tf

from yoto.utils import style_augmentation
from yoto.utils import styles


def _style_batch():
  return tf.constant(styles.load_style_set("generated", 32).images[:6])


def test_augmentation_is_deterministic_under_a_seed_and_varies_across_seeds():
  images = _style_batch()
  augment = style_augmentation.StyleAugmentation()
  first = augment(images, tf.constant([1, 2])).numpy()
  np.testing.assert_array_equal(
    first, augment(images, tf.constant([1, 2])).numpy()
  )
  # The seed's dtype does not matter, only its value.
  np.testing.assert_array_equal(
    first, augment(images, tf.constant([1, 2], tf.int64)).numpy()
  )
  other = augment(images, tf.constant([1, 3])).numpy()
  assert np.abs(first - other).mean() > 0.02
  assert first.shape == images.shape and first.dtype == np.float32
  assert first.min() >= 0.0 and first.max() <= 1.0
  # Every image gets its own draws and is changed.
  changes = np.abs(first - images.numpy()).mean(axis=(1, 2, 3))
  assert (changes > 0.005).all(), changes


def test_augmentation_without_changes_is_the_identity():
  images = _style_batch()
  identity = style_augmentation.StyleAugmentation(
    max_zoom=1.0,
    flip_left_right=False,
    flip_up_down=False,
    max_hue_delta=0.0,
    max_saturation_factor=1.0,
    max_brightness_delta=0.0,
  )
  np.testing.assert_allclose(
    identity(images, tf.constant([4, 5])).numpy(), images.numpy(), atol=1e-5
  )


def test_each_augmentation_changes_what_it_says():
  images = _style_batch()
  seed = tf.constant([6, 7])
  none = dict(
    max_zoom=1.0,
    flip_left_right=False,
    flip_up_down=False,
    max_hue_delta=0.0,
    max_saturation_factor=1.0,
    max_brightness_delta=0.0,
  )
  # Flips only: each image is itself, mirrored, or upside down (or both).
  flipped = style_augmentation.StyleAugmentation(
    **{**none, "flip_left_right": True, "flip_up_down": True}
  )(images, seed).numpy()
  for image, out in zip(images.numpy(), flipped):
    candidates = [image, image[:, ::-1], image[::-1], image[::-1, ::-1]]
    assert min(np.abs(out - c).max() for c in candidates) < 1e-5
  # Brightness only: one offset per image, within its bound (away from 0, 1).
  shifted = style_augmentation.StyleAugmentation(
    **{**none, "max_brightness_delta": 0.1}
  )(images, seed).numpy()
  inside = (images.numpy() > 0.11) & (images.numpy() < 0.89)
  for image, out, mask in zip(images.numpy(), shifted, inside):
    offsets = (out - image)[mask]
    assert offsets.std() < 1e-4 and abs(offsets.mean()) <= 0.1 + 1e-5
  # Zoom only: a crop, so the image changes but keeps its size.
  zoomed = style_augmentation.StyleAugmentation(**{**none, "max_zoom": 1.5})(
    images, seed
  ).numpy()
  assert zoomed.shape == images.shape
  assert np.abs(zoomed - images.numpy()).mean() > 0.01


@pytest.mark.parametrize(
  "field, value",
  [("max_zoom", 0.5), ("max_saturation_factor", 0.9), ("max_hue_delta", -0.1)],
)
def test_bad_augmentation_settings_are_rejected(field, value):
  with pytest.raises(ValueError, match=field):
    style_augmentation.StyleAugmentation(**{field: value})
