"""Tests of the preprocessing mini-language: parsing, its safety, pipelines.

The ops themselves are tested in test_preprocessing_ops.py.
"""

import builtins

import numpy as np
import pytest
import tensorflow as tf

from yoto.utils import preprocessing

SEED_KEY = preprocessing.SEED_KEY


def _coordinate_image(height=20, width=30):
  """uint8 [h, w, 3] image whose pixel (y, x) holds (y, x, 7)."""
  y, x = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  return np.stack([y, x, np.full_like(y, 7)], axis=-1).astype(np.uint8)


def _apply(pipeline, image, seed=None):
  features = {"image": tf.constant(image)}
  if seed is not None:
    features[SEED_KEY] = tf.constant(seed, tf.int64)
  return preprocessing.get_preprocess_fn(pipeline)(features)["image"].numpy()


def _crop_offset(crop, image):
  """Checks that `crop` is a window of a coordinate image; returns (y, x)."""
  y0, x0 = int(crop[0, 0, 0]), int(crop[0, 0, 1])
  height, width = crop.shape[:2]
  np.testing.assert_array_equal(crop, image[y0 : y0 + height, x0 : x0 + width])
  return y0, x0


def test_parse_pipeline_positional_keyword_and_bare():
  ops = preprocessing.parse_pipeline(
    "resize([40, 48]) | random_crop(32)|flip_lr|value_range(vmin=-1.5, "
    "vmax=1, clip_values=True)"
  )
  assert ops == [
    ("resize", ([40, 48],), {}),
    ("random_crop", (32,), {}),
    ("flip_lr", (), {}),
    ("value_range", (), {"vmin": -1.5, "vmax": 1, "clip_values": True}),
  ]


@pytest.mark.parametrize("pipeline", ["", "   ", None])
def test_empty_pipeline_is_identity_and_drops_seed(pipeline):
  image = _coordinate_image()
  fn = preprocessing.get_preprocess_fn(pipeline)
  out = fn(
    {
      "image": tf.constant(image),
      "label": tf.constant(3),
      SEED_KEY: tf.constant([1, 2], tf.int64),
    }
  )
  assert sorted(out) == ["image", "label"]
  np.testing.assert_array_equal(out["image"].numpy(), image)


def test_other_features_pass_through():
  fn = preprocessing.get_preprocess_fn("value_range(0, 1)")
  out = fn({"image": tf.zeros([4, 4, 3], tf.uint8), "label": tf.constant(5)})
  assert int(out["label"]) == 5


def test_random_crop_without_seed_key_still_crops():
  image = _coordinate_image()
  crop = _apply("random_crop(5)", image)
  _crop_offset(crop, image)


def test_value_range_positional_and_keyword_args_agree():
  image = np.arange(0, 256, 5, dtype=np.uint8).reshape([1, -1, 1])
  positional = _apply("value_range(0, 1)", image)
  keyword = _apply("value_range(vmin=0, vmax=1)", image)
  np.testing.assert_array_equal(positional, keyword)
  np.testing.assert_allclose(
    positional.ravel(), image.ravel() / 255.0, atol=1e-6
  )


def test_full_pipeline_in_tf_data_with_seeds():
  fn = preprocessing.get_preprocess_fn(
    "resize(40)|random_crop(32)|flip_lr()|value_range(-1,1)"
  )
  images = np.random.default_rng(1).integers(0, 256, (6, 50, 60, 3), np.uint8)
  dataset = tf.data.Dataset.from_tensor_slices({"image": images}).enumerate()
  dataset = dataset.map(lambda i, f: {**f, SEED_KEY: tf.stack([i, i])})

  def run():
    return np.stack([f["image"].numpy() for f in dataset.map(fn)])

  out = run()
  assert out.shape == (6, 32, 32, 3) and out.dtype == np.float32
  assert out.min() >= -1.0 and out.max() <= 1.0
  np.testing.assert_array_equal(out, run())


@pytest.mark.parametrize(
  "pipeline",
  [
    "__import__('os').system('x')",
    "value_range(vmin=os.getcwd())",
    "resize(40)|exec('x')",
    "os.system('echo hi')",
    "resize(40).__class__",
    "resize(40)[0]",
    "resize(size=[0][0])",
    "resize(x)",
    "value_range(vmin=1 + 1)",
    "(lambda: 1)()",
    "resize(lambda: 1)",
    "resize(*[40])",
    "resize(**{'size': 40})",
    "resize(40); import os",
    "unknown_op(3)",
    "eval",
    "resize(40)|",
    "|resize(40)",
    "resize(40",
  ],
)
def test_rejects_anything_but_calls_of_known_ops(pipeline):
  with pytest.raises(ValueError, match="Known ops"):
    preprocessing.get_preprocess_fn(pipeline)


@pytest.mark.parametrize(
  "pipeline, reason",
  [
    ("value_range(vmax=1, bad=2)", "unexpected keyword"),
    ("resize()", "missing a required argument"),
    ("resize(1, 2)", "too many positional"),
    ("flip_lr(1)", "too many positional"),
    ("resize('40')", "size must be"),
    ("resize(0)", "positive"),
    ("random_crop([32, 32, 3])", "size must be"),
    ("central_crop(2.5)", "size must be"),
    ("value_range(vmin='x')", "vmin must be a number"),
    ("value_range(clip_values=1)", "clip_values"),
    ("value_range(in_min=3, in_max=3)", "must differ"),
  ],
)
def test_rejects_wrong_arguments(pipeline, reason):
  with pytest.raises(ValueError, match=reason):
    preprocessing.get_preprocess_fn(pipeline)


def test_error_names_the_piece_and_lists_signatures():
  with pytest.raises(ValueError) as error:
    preprocessing.get_preprocess_fn('resize(40)|exec("x")|flip_lr()')
  message = str(error.value)
  assert 'exec("x")' in message
  assert (
    "value_range(vmin=-1, vmax=1, in_min=0, in_max=255, "
    "clip_values=False)" in message
  )
  for name in (
    "resize(size)",
    "random_crop(size)",
    "central_crop(size)",
    "flip_lr()",
  ):
    assert name in message


def test_parse_pipeline_also_rejects_bad_bindings():
  with pytest.raises(ValueError, match="bad arguments"):
    preprocessing.parse_pipeline("resize(1, 2)")


def test_parsing_never_evaluates_code(monkeypatch):
  def forbidden(*args, **kwargs):
    raise AssertionError("eval/exec must not be called")

  monkeypatch.setattr(builtins, "eval", forbidden)
  monkeypatch.setattr(builtins, "exec", forbidden)
  fn = preprocessing.get_preprocess_fn("central_crop(4)|value_range(0, 1)")
  assert fn({"image": tf.zeros([8, 8, 3], tf.uint8)})["image"].shape == (
    4,
    4,
    3,
  )
  with pytest.raises(ValueError):
    preprocessing.get_preprocess_fn("__import__('os').system('x')")


def test_missing_image_feature_is_reported():
  fn = preprocessing.get_preprocess_fn("flip_lr()")
  with pytest.raises(ValueError, match="needs an 'image' feature"):
    fn({"pixels": tf.zeros([4, 4, 3])})
