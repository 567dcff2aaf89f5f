"""Tests of the preprocessing mini-language: ops, parsing and its safety."""

import builtins

import numpy as np
import pytest
import tensorflow as tf

from yoto.utils import preprocessing

SEED_KEY = preprocessing.SEED_KEY


def _coordinate_image(height=20, width=30):
  """uint8 [h, w, 3] image whose pixel (y, x) holds (y, x, 7)."""
  y, x = np.meshgrid(np.arange(height), np.arange(width), indexing='ij')
  return np.stack([y, x, np.full_like(y, 7)], axis=-1).astype(np.uint8)


def _apply(pipeline, image, seed=None):
  features = {'image': tf.constant(image)}
  if seed is not None:
    features[SEED_KEY] = tf.constant(seed, tf.int64)
  return preprocessing.get_preprocess_fn(pipeline)(features)['image'].numpy()


def _crop_offset(crop, image):
  """Checks that `crop` is a window of a coordinate image; returns (y, x)."""
  y0, x0 = int(crop[0, 0, 0]), int(crop[0, 0, 1])
  height, width = crop.shape[:2]
  np.testing.assert_array_equal(crop, image[y0:y0 + height, x0:x0 + width])
  return y0, x0


def test_parse_pipeline_positional_keyword_and_bare():
  ops = preprocessing.parse_pipeline(
      'resize([40, 48]) | random_crop(32)|flip_lr|value_range(vmin=-1.5, '
      'vmax=1, clip_values=True)')
  assert ops == [
      ('resize', ([40, 48],), {}),
      ('random_crop', (32,), {}),
      ('flip_lr', (), {}),
      ('value_range', (), {'vmin': -1.5, 'vmax': 1, 'clip_values': True}),
  ]


@pytest.mark.parametrize('pipeline', ['', '   ', None])
def test_empty_pipeline_is_identity_and_drops_seed(pipeline):
  image = _coordinate_image()
  fn = preprocessing.get_preprocess_fn(pipeline)
  out = fn({'image': tf.constant(image), 'label': tf.constant(3),
            SEED_KEY: tf.constant([1, 2], tf.int64)})
  assert sorted(out) == ['image', 'label']
  np.testing.assert_array_equal(out['image'].numpy(), image)


def test_other_features_pass_through():
  fn = preprocessing.get_preprocess_fn('value_range(0, 1)')
  out = fn({'image': tf.zeros([4, 4, 3], tf.uint8), 'label': tf.constant(5)})
  assert int(out['label']) == 5


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_resize_matches_bilinear_and_keeps_dtype(dtype):
  image = np.random.default_rng(0).uniform(0, 255, (20, 30, 3)).astype(dtype)
  out = _apply('resize([10, 12])', image)
  assert out.shape == (10, 12, 3) and out.dtype == dtype
  expected = tf.image.resize(image.astype(np.float32), (10, 12)).numpy()
  if dtype == np.uint8:
    expected = np.round(expected)
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_resize_int_is_square_and_works_on_batches():
  out = _apply('resize(8)', np.zeros([5, 20, 30, 3], np.uint8))
  assert out.shape == (5, 8, 8, 3)


def test_random_crop_is_a_window_of_the_input():
  image = _coordinate_image()
  offsets = set()
  for seed in range(10):
    crop = _apply('random_crop([8, 12])', image, seed=[seed, 0])
    assert crop.shape == (8, 12, 3)
    offsets.add(_crop_offset(crop, image))
  # The window moves in both directions with the seed.
  assert len({y for y, _ in offsets}) > 1 and len({x for _, x in offsets}) > 1


def test_random_crop_is_deterministic_given_the_seed():
  image = _coordinate_image()
  first = _apply('random_crop(10)', image, seed=[3, 4])
  second = _apply('random_crop(10)', image, seed=[3, 4])
  np.testing.assert_array_equal(first, second)


def test_random_crop_draws_one_window_per_image_of_a_batch():
  image = _coordinate_image()
  crops = _apply('random_crop(6)', np.stack([image] * 16), seed=[0, 1])
  assert crops.shape == (16, 6, 6, 3)
  offsets = {_crop_offset(crop, image) for crop in crops}
  assert len({y for y, _ in offsets}) > 1 and len({x for _, x in offsets}) > 1


def test_random_crop_without_seed_key_still_crops():
  image = _coordinate_image()
  crop = _apply('random_crop(5)', image)
  _crop_offset(crop, image)


def test_crop_larger_than_image_fails():
  with pytest.raises(ValueError, match='does not fit'):
    _apply('random_crop(40)', _coordinate_image(), seed=[0, 0])


def test_central_crop_is_the_middle_window():
  image = _coordinate_image(20, 30)
  out = _apply('central_crop([10, 11])', image)
  np.testing.assert_array_equal(out, image[5:15, 9:20])
  batch = _apply('central_crop(4)', np.stack([image] * 2))
  np.testing.assert_array_equal(batch, np.stack([image[8:12, 13:17]] * 2))


def test_flip_lr_flips_for_some_seeds_only():
  image = _coordinate_image()
  flipped = []
  for seed in range(20):
    out = _apply('flip_lr()', image, seed=[seed, 1])
    is_flipped = np.array_equal(out, image[:, ::-1])
    assert is_flipped or np.array_equal(out, image)
    flipped.append(is_flipped)
  assert any(flipped) and not all(flipped)


def test_flip_lr_flips_images_of_a_batch_independently():
  image = _coordinate_image()
  out = _apply('flip_lr', np.stack([image] * 16), seed=[5, 5])
  flipped = [np.array_equal(o, image[:, ::-1]) for o in out]
  assert any(flipped) and not all(flipped)


def test_value_range_defaults_map_uint8_to_minus_one_one():
  image = np.array([0, 51, 255], np.uint8).reshape([1, 3, 1])
  out = _apply('value_range()', image)
  assert out.dtype == np.float32
  np.testing.assert_allclose(out.ravel(), [-1.0, -0.6, 1.0], atol=1e-6)


def test_value_range_positional_and_keyword_args_agree():
  image = np.arange(0, 256, 5, dtype=np.uint8).reshape([1, -1, 1])
  positional = _apply('value_range(0, 1)', image)
  keyword = _apply('value_range(vmin=0, vmax=1)', image)
  np.testing.assert_array_equal(positional, keyword)
  np.testing.assert_allclose(positional.ravel(), image.ravel() / 255.0,
                             atol=1e-6)


def test_value_range_custom_input_range_and_clipping():
  image = np.array([-1.0, 0.0, 1.0, 3.0], np.float32).reshape([1, 4, 1])
  out = _apply('value_range(0, 10, in_min=-1, in_max=1)', image)
  np.testing.assert_allclose(out.ravel(), [0.0, 5.0, 10.0, 20.0], atol=1e-5)
  clipped = _apply('value_range(0, 10, -1, 1, clip_values=True)', image)
  np.testing.assert_allclose(clipped.ravel(), [0.0, 5.0, 10.0, 10.0],
                             atol=1e-5)


def test_full_pipeline_in_tf_data_with_seeds():
  fn = preprocessing.get_preprocess_fn(
      'resize(40)|random_crop(32)|flip_lr()|value_range(-1,1)')
  images = np.random.default_rng(1).integers(0, 256, (6, 50, 60, 3), np.uint8)
  dataset = tf.data.Dataset.from_tensor_slices({'image': images}).enumerate()
  dataset = dataset.map(lambda i, f: {**f, SEED_KEY: tf.stack([i, i])})

  def run():
    return np.stack([f['image'].numpy() for f in dataset.map(fn)])

  out = run()
  assert out.shape == (6, 32, 32, 3) and out.dtype == np.float32
  assert out.min() >= -1.0 and out.max() <= 1.0
  np.testing.assert_array_equal(out, run())


@pytest.mark.parametrize('pipeline', [
    "__import__('os').system('x')",
    'value_range(vmin=os.getcwd())',
    "resize(40)|exec('x')",
    "os.system('echo hi')",
    'resize(40).__class__',
    'resize(40)[0]',
    'resize(size=[0][0])',
    'resize(x)',
    'value_range(vmin=1 + 1)',
    '(lambda: 1)()',
    'resize(lambda: 1)',
    'resize(*[40])',
    "resize(**{'size': 40})",
    'resize(40); import os',
    'unknown_op(3)',
    'eval',
    'resize(40)|',
    '|resize(40)',
    'resize(40',
])
def test_rejects_anything_but_calls_of_known_ops(pipeline):
  with pytest.raises(ValueError, match='Known ops'):
    preprocessing.get_preprocess_fn(pipeline)


@pytest.mark.parametrize('pipeline, reason', [
    ('value_range(vmax=1, bad=2)', 'unexpected keyword'),
    ('resize()', 'missing a required argument'),
    ('resize(1, 2)', 'too many positional'),
    ('flip_lr(1)', 'too many positional'),
    ("resize('40')", 'size must be'),
    ('resize(0)', 'positive'),
    ('random_crop([32, 32, 3])', 'size must be'),
    ('central_crop(2.5)', 'size must be'),
    ("value_range(vmin='x')", 'vmin must be a number'),
    ('value_range(clip_values=1)', 'clip_values'),
    ('value_range(in_min=3, in_max=3)', 'must differ'),
])
def test_rejects_wrong_arguments(pipeline, reason):
  with pytest.raises(ValueError, match=reason):
    preprocessing.get_preprocess_fn(pipeline)


def test_error_names_the_piece_and_lists_signatures():
  with pytest.raises(ValueError) as error:
    preprocessing.get_preprocess_fn('resize(40)|exec("x")|flip_lr()')
  message = str(error.value)
  assert 'exec("x")' in message
  assert 'value_range(vmin=-1, vmax=1, in_min=0, in_max=255, ' \
         'clip_values=False)' in message
  for name in ('resize(size)', 'random_crop(size)', 'central_crop(size)',
               'flip_lr()'):
    assert name in message


def test_parse_pipeline_also_rejects_bad_bindings():
  with pytest.raises(ValueError, match='bad arguments'):
    preprocessing.parse_pipeline('resize(1, 2)')


def test_parsing_never_evaluates_code(monkeypatch):
  def forbidden(*args, **kwargs):
    raise AssertionError('eval/exec must not be called')
  monkeypatch.setattr(builtins, 'eval', forbidden)
  monkeypatch.setattr(builtins, 'exec', forbidden)
  fn = preprocessing.get_preprocess_fn('central_crop(4)|value_range(0, 1)')
  assert fn({'image': tf.zeros([8, 8, 3], tf.uint8)})['image'].shape == (4, 4,
                                                                          3)
  with pytest.raises(ValueError):
    preprocessing.get_preprocess_fn("__import__('os').system('x')")


def test_missing_image_feature_is_reported():
  fn = preprocessing.get_preprocess_fn('flip_lr()')
  with pytest.raises(ValueError, match="needs an 'image' feature"):
    fn({'pixels': tf.zeros([4, 4, 3])})
