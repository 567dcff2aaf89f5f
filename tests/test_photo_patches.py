"""Tests of the embedded `photo_patches` dataset, built offline."""

import socket

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from yoto.utils import photo_patches


def _no_network(*args, **kwargs):
  raise OSError("network access attempted while building photo_patches")


def _build(data_dir, name="photo_patches/32"):
  """Builds `name` into data_dir with Python-level network access blocked."""
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(socket, "getaddrinfo", _no_network)
    patch.setattr(socket.socket, "connect", _no_network)
    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare()
  return builder


def _read(builder, split):
  """Returns (images uint8 [n, h, w, 3], sources list of str) of a split."""
  dataset = builder.as_dataset(split=split, batch_size=-1)
  sources = [s.decode() for s in dataset["source"].numpy()]
  return dataset["image"].numpy(), sources


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
  return _build(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="module")
def train(builder):
  return _read(builder, "train")


@pytest.fixture(scope="module")
def test(builder):
  return _read(builder, "test")


@pytest.fixture(scope="module")
def validation(builder):
  return _read(builder, "validation")


def test_default_config_is_32_and_all_configs_exist():
  assert tfds.builder("photo_patches").builder_config.name == "32"
  names = [c.name for c in photo_patches.PhotoPatches.BUILDER_CONFIGS]
  assert names == ["32", "64", "128"]
  builder = tfds.builder("photo_patches/128")
  assert builder.info.features["image"].shape == (128, 128, 3)
  assert str(builder.version) == "2.0.0"


def test_features_have_the_promised_shapes_and_dtypes(builder):
  spec = builder.as_dataset(split="test").element_spec
  assert spec["image"].shape == (32, 32, 3)
  assert spec["image"].dtype == tf.uint8
  assert spec["source"].dtype == tf.string


def test_split_sizes(builder, train, validation, test):
  num_train = 2000 * len(photo_patches.TRAIN_SOURCES)
  assert builder.info.splits["train"].num_examples == num_train
  assert builder.info.splits["validation"].num_examples == 2000
  assert builder.info.splits["test"].num_examples == 2048
  assert train[0].shape == (num_train, 32, 32, 3)
  assert validation[0].shape == (2000, 32, 32, 3)
  assert test[0].shape == (2048, 32, 32, 3)


def test_splits_are_disjoint_by_photo(train, validation, test):
  sources = {
    "train": set(train[1]),
    "validation": set(validation[1]),
    "test": set(test[1]),
  }
  assert sources == {
    "train": set(photo_patches.TRAIN_SOURCES),
    "validation": {"chelsea"},
    "test": {"rocket", "grace_hopper"},
  }
  assert not sources["train"] & sources["validation"]
  assert not sources["train"] & sources["test"]
  assert not sources["validation"] & sources["test"]
  for source in sources["train"]:  # Every photo contributes equally.
    assert train[1].count(source) == 2000
  for source in sources["test"]:
    assert test[1].count(source) == 1024


def test_the_first_test_batches_mix_the_test_photos(test):
  """An eval that reads only the start of `test` still sees both photos."""
  first = test[1][:256]
  for source in photo_patches.TEST_SOURCES:
    assert 0.35 < first.count(source) / len(first) < 0.65


def test_no_held_out_crop_equals_a_train_crop(train, validation, test):
  train_crops = {crop.tobytes() for crop in train[0]}
  for images, _ in (validation, test):
    assert not any(crop.tobytes() in train_crops for crop in images)


def test_version_1_1_0_stays_readable(tmp_path):
  """Data prepared by 1.1.0 (chelsea as test) loads under its version."""
  with pytest.MonkeyPatch.context() as patch:  # Only VERSION is generated.
    patch.setattr(
      photo_patches.PhotoPatches, "VERSION", tfds.core.Version("1.1.0")
    )
    patch.setattr(photo_patches.PhotoPatches, "SUPPORTED_VERSIONS", [])
    _build(tmp_path, "photo_patches/128")
  old = tfds.builder("photo_patches/128:1.1.0", data_dir=str(tmp_path))
  assert str(old.version) == "1.1.0"
  test_images, test_sources = _read(old, "test")
  validation_images, validation_sources = _read(old, "validation")
  assert set(test_sources) == set(validation_sources) == {"chelsea"}
  assert len(test_images) == len(validation_images) == 200
  assert not np.array_equal(
    np.sort(test_images, axis=0), np.sort(validation_images, axis=0)
  )
  # The default is the new version, which is not prepared there yet.
  assert (
    str(tfds.builder("photo_patches/128", data_dir=str(tmp_path)).version)
    == "2.0.0"
  )


def test_split_recipes_reject_unknown_versions():
  config = photo_patches.PhotoPatches.BUILDER_CONFIGS[0]
  with pytest.raises(ValueError, match="no version 3.0.0"):
    photo_patches.split_recipes("3.0.0", config)


def test_crops_are_windows_of_their_source_photo(train):
  images, sources = train
  for index in range(0, len(images), 1499):  # A sample over all photos.
    crop, photo = images[index], photo_patches.load_photo(sources[index])
    candidates = np.argwhere(np.all(photo == crop[0, 0], axis=-1))
    assert any(
      np.array_equal(photo[y : y + 32, x : x + 32], crop) for y, x in candidates
    ), (index, sources[index])


def test_crops_are_distinct_and_not_flat(train, validation, test):
  for images, _ in (train, validation, test):
    assert len({crop.tobytes() for crop in images}) == len(images)
    stds = images.reshape([len(images), -1]).astype(np.float32).std(axis=1)
    assert stds.min() >= photo_patches.MIN_CROP_STD


def test_random_crops_skip_flat_areas():
  photo = np.zeros([40, 40, 3], np.uint8)
  photo[:10, :10] = np.arange(300).reshape([10, 10, 3])  # One busy corner.
  crops = list(photo_patches.random_crops(photo, 8, 5, seed=0))
  assert len(crops) == 5
  assert all(crop.std() >= photo_patches.MIN_CROP_STD for crop in crops)
  with pytest.raises(ValueError, match="not flat"):
    list(photo_patches.random_crops(photo, 8, 1000, seed=0))


def test_two_builds_are_identical(builder, tmp_path):
  other = _build(tmp_path)
  for split in ("train", "validation", "test"):
    first = list(builder.as_dataset(split=split).take(20).as_numpy_iterator())
    second = list(other.as_dataset(split=split).take(20).as_numpy_iterator())
    for a, b in zip(first, second):
      np.testing.assert_array_equal(a["image"], b["image"])
      assert a["source"] == b["source"]


def test_crop_positions_depend_on_photo_and_size_only():
  assert photo_patches.crop_seed("astronaut", 32) == photo_patches.crop_seed(
    "astronaut", 32
  )
  assert photo_patches.crop_seed("astronaut", 32) != photo_patches.crop_seed(
    "astronaut", 64
  )
  assert photo_patches.crop_seed("coffee", 32) != photo_patches.crop_seed(
    "astronaut", 32
  )


def test_load_photo_returns_rgb_uint8():
  assert len(set(photo_patches.SOURCES)) == len(photo_patches.SOURCES) == 9
  for source in photo_patches.SOURCES:
    photo = photo_patches.load_photo(source)
    assert photo.dtype == np.uint8 and photo.ndim == 3
    assert photo.shape[-1] == 3 and min(photo.shape[:2]) >= 128


def test_held_out_photos_are_not_training_photos():
  """No two photos are the same picture (skimage's `cat` is chelsea)."""
  photos = {
    name: photo_patches.load_photo(name) for name in photo_patches.SOURCES
  }
  for name, photo in photos.items():
    for other, other_photo in photos.items():
      if name < other and photo.shape == other_photo.shape:
        assert not np.array_equal(photo, other_photo), (name, other)


def test_load_photo_names_the_known_photos_for_an_unknown_one():
  with pytest.raises(KeyError, match="grace_hopper"):
    photo_patches.load_photo("cat")
