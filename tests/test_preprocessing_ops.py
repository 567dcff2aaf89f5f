"""Tests of the preprocessing ops, called directly (not through a pipeline)."""

import numpy as np
import pytest
import tensorflow as tf

from yoto.utils import preprocessing_ops as ops


def _coordinate_image(height=20, width=30):
  """uint8 [h, w, 3] image whose pixel (y, x) holds (y, x, 7)."""
  y, x = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  return np.stack([y, x, np.full_like(y, 7)], axis=-1).astype(np.uint8)


def _apply(op, image, seed=(0, 0)):
  """Runs the image function `op` on `image` with the stateless `seed`."""
  return op(tf.constant(image), tf.constant(seed, tf.int64)).numpy()


def _crop_offset(crop, image):
  """Checks that `crop` is a window of a coordinate image; returns (y, x)."""
  y0, x0 = int(crop[0, 0, 0]), int(crop[0, 0, 1])
  height, width = crop.shape[:2]
  np.testing.assert_array_equal(crop, image[y0 : y0 + height, x0 : x0 + width])
  return y0, x0


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_resize_matches_bilinear_and_keeps_dtype(dtype):
  image = np.random.default_rng(0).uniform(0, 255, (20, 30, 3)).astype(dtype)
  out = _apply(ops.resize([10, 12]), image)
  assert out.shape == (10, 12, 3) and out.dtype == dtype
  expected = tf.image.resize(image.astype(np.float32), (10, 12)).numpy()
  if dtype == np.uint8:
    expected = np.round(expected)
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_resize_int_is_square_and_works_on_batches():
  out = _apply(ops.resize(8), np.zeros([5, 20, 30, 3], np.uint8))
  assert out.shape == (5, 8, 8, 3)


def test_random_crop_is_a_window_of_the_input():
  image = _coordinate_image()
  offsets = set()
  for seed in range(10):
    crop = _apply(ops.random_crop([8, 12]), image, seed=[seed, 0])
    assert crop.shape == (8, 12, 3)
    offsets.add(_crop_offset(crop, image))
  # The window moves in both directions with the seed.
  assert len({y for y, _ in offsets}) > 1 and len({x for _, x in offsets}) > 1


def test_random_crop_is_deterministic_given_the_seed():
  image = _coordinate_image()
  first = _apply(ops.random_crop(10), image, seed=[3, 4])
  second = _apply(ops.random_crop(10), image, seed=[3, 4])
  np.testing.assert_array_equal(first, second)


def test_random_crop_draws_one_window_per_image_of_a_batch():
  image = _coordinate_image()
  crops = _apply(ops.random_crop(6), np.stack([image] * 16), seed=[0, 1])
  assert crops.shape == (16, 6, 6, 3)
  offsets = {_crop_offset(crop, image) for crop in crops}
  assert len({y for y, _ in offsets}) > 1 and len({x for _, x in offsets}) > 1


def test_crop_larger_than_image_fails():
  with pytest.raises(ValueError, match="does not fit"):
    _apply(ops.random_crop(40), _coordinate_image(), seed=[0, 0])


def test_central_crop_is_the_middle_window():
  image = _coordinate_image(20, 30)
  out = _apply(ops.central_crop([10, 11]), image)
  np.testing.assert_array_equal(out, image[5:15, 9:20])
  batch = _apply(ops.central_crop(4), np.stack([image] * 2))
  np.testing.assert_array_equal(batch, np.stack([image[8:12, 13:17]] * 2))


def test_flip_lr_flips_for_some_seeds_only():
  image = _coordinate_image()
  flipped = []
  for seed in range(20):
    out = _apply(ops.flip_lr(), image, seed=[seed, 1])
    is_flipped = np.array_equal(out, image[:, ::-1])
    assert is_flipped or np.array_equal(out, image)
    flipped.append(is_flipped)
  assert any(flipped) and not all(flipped)


def test_flip_lr_flips_images_of_a_batch_independently():
  image = _coordinate_image()
  out = _apply(ops.flip_lr(), np.stack([image] * 16), seed=[5, 5])
  flipped = [np.array_equal(o, image[:, ::-1]) for o in out]
  assert any(flipped) and not all(flipped)


def test_value_range_defaults_map_uint8_to_minus_one_one():
  image = np.array([0, 51, 255], np.uint8).reshape([1, 3, 1])
  out = _apply(ops.value_range(), image)
  assert out.dtype == np.float32
  np.testing.assert_allclose(out.ravel(), [-1.0, -0.6, 1.0], atol=1e-6)


def test_value_range_custom_input_range_and_clipping():
  image = np.array([-1.0, 0.0, 1.0, 3.0], np.float32).reshape([1, 4, 1])
  out = _apply(ops.value_range(0, 10, in_min=-1, in_max=1), image)
  np.testing.assert_allclose(out.ravel(), [0.0, 5.0, 10.0, 20.0], atol=1e-5)
  clipped = _apply(ops.value_range(0, 10, -1, 1, clip_values=True), image)
  np.testing.assert_allclose(clipped.ravel(), [0.0, 5.0, 10.0, 10.0], atol=1e-5)


_EXAMPLE_ARGS = {
  "resize": (8,),
  "random_crop": (8,),
  "central_crop": (8,),
  "flip_lr": (),
  "value_range": (),
}


def test_random_ops_are_exactly_those_whose_output_follows_the_seed():
  assert set(_EXAMPLE_ARGS) == set(ops.OPS)
  images = np.stack([_coordinate_image()] * 8)
  for name, factory in ops.OPS.items():
    op = factory(*_EXAMPLE_ARGS[name])
    outputs = [_apply(op, images, seed=[s, 1]) for s in range(4)]
    follows_seed = any(not np.array_equal(outputs[0], o) for o in outputs[1:])
    assert follows_seed == (name in ops.RANDOM_OPS), name
    if name not in ops.RANDOM_OPS:  # The pipeline gives them no seed.
      np.testing.assert_array_equal(op(tf.constant(images), None), outputs[0])
