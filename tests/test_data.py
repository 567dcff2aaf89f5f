"""Tests of the input pipelines, offline (mocked or embedded data): batches,
seeds, shards and batched preprocessing (the splits themselves:
test_data_sources)."""

import os

import conftest
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from yoto.utils import data
from yoto.utils import data_sources
from yoto.utils import preprocessing


def _first_batch(dataset):
  return {k: v.numpy() for k, v in next(iter(dataset)).items()}


def _all_images(dataset):
  return np.concatenate([batch["image"].numpy() for batch in dataset])


@pytest.mark.parametrize("name, size", [("cifar10", 32), ("shapes3d", 64)])
@pytest.mark.parametrize("split", list(data_sources.DatasetSplit))
def test_mock_data_loads_every_split(name, size, split):
  preprocess_fn = preprocessing.get_preprocess_fn("value_range(0, 1)")
  with tfds.testing.mock_data(num_examples=8):
    dataset = data.get_dataset(
      name,
      split,
      validation_percent=20,
      batch_size=4,
      preprocess_fn=preprocess_fn,
      shuffle=True,
      repeat=True,
      seed=0,
    )
    batch = _first_batch(dataset)
  assert batch["image"].shape == (4, size, size, 3)
  assert batch["image"].dtype == np.float32
  assert 0.0 <= batch["image"].min() and batch["image"].max() <= 1.0
  for value in batch.values():
    assert value.dtype != object and value.shape[0] == 4


def test_string_features_are_dropped_numeric_ones_kept():
  with tfds.testing.mock_data(num_examples=4):
    batch = _first_batch(data.get_dataset("cifar10", "test", batch_size=2))
  assert sorted(batch) == ["image", "label"]  # 'id' (a string) is gone.
  assert batch["image"].dtype == np.uint8  # No preprocess_fn: as decoded.


def _seeded_images(seed, num_batches=3):
  preprocess_fn = preprocessing.get_preprocess_fn(
    "random_crop(24)|flip_lr()|value_range(0, 1)"
  )
  with tfds.testing.mock_data(num_examples=16):
    dataset = data.get_dataset(
      "cifar10",
      "train_full",
      batch_size=4,
      preprocess_fn=preprocess_fn,
      shuffle=True,
      repeat=True,
      seed=seed,
    )
    return _all_images(dataset.take(num_batches))


def test_seed_makes_shuffling_and_augmentation_deterministic():
  first = _seeded_images(seed=3)
  assert first.shape == (12, 24, 24, 3)
  np.testing.assert_array_equal(first, _seeded_images(seed=3))
  assert not np.array_equal(first, _seeded_images(seed=4))


def test_every_epoch_gets_fresh_random_crops():
  preprocess_fn = preprocessing.get_preprocess_fn("random_crop(16)")
  with tfds.testing.mock_data(num_examples=1):
    dataset = data.get_dataset(
      "cifar10",
      "test",
      batch_size=1,
      preprocess_fn=preprocess_fn,
      repeat=True,
      seed=0,
    )
    crops = _all_images(dataset.take(6))
  assert len({crop.tobytes() for crop in crops}) > 1


def test_input_context_shards_disjointly_and_keeps_the_batch_size():
  shards = []
  with tfds.testing.mock_data(num_examples=8):
    everything = _all_images(data.get_dataset("cifar10", "test", batch_size=8))
    for pipeline_id in range(2):
      context = tf.distribute.InputContext(
        num_input_pipelines=2,
        input_pipeline_id=pipeline_id,
        num_replicas_in_sync=4,
      )
      # The caller passes the per-replica batch size; it is used as given.
      per_replica = context.get_per_replica_batch_size(8)
      dataset = data.get_dataset(
        "cifar10", "test", batch_size=per_replica, input_context=context
      )
      assert dataset.element_spec["image"].shape[0] == 2
      shards.append(_all_images(dataset))
  assert [len(shard) for shard in shards] == [4, 4]
  as_set = lambda images: {image.tobytes() for image in images}
  assert not as_set(shards[0]) & as_set(shards[1])
  assert as_set(shards[0]) | as_set(shards[1]) == as_set(everything)


def test_single_pipeline_context_with_replicas_keeps_the_batch_size():
  context = tf.distribute.InputContext(num_replicas_in_sync=2)
  with tfds.testing.mock_data(num_examples=8):
    dataset = data.get_dataset(
      "cifar10", "test", batch_size=4, input_context=context
    )
    assert [len(b["image"]) for b in dataset] == [4, 4]


def test_drop_remainder_false_keeps_the_last_batch():
  with tfds.testing.mock_data(num_examples=5):
    sizes = [
      len(b["image"])
      for b in data.get_dataset(
        "cifar10", "test", batch_size=2, drop_remainder=False
      )
    ]
    dropped = [
      len(b["image"]) for b in data.get_dataset("cifar10", "test", batch_size=2)
    ]
  assert sizes == [2, 2, 1] and dropped == [2, 2]


def test_embedded_dataset_is_built_on_first_use(tmp_path):
  preprocess_fn = preprocessing.get_preprocess_fn("value_range(-1, 1)")
  dataset = data.get_dataset(
    "photo_patches/64",
    data_sources.DatasetSplit.VALID,
    batch_size=16,
    preprocess_fn=preprocess_fn,
    data_dir=str(tmp_path),
  )
  batch = _first_batch(dataset)
  assert sorted(batch) == ["image"]  # 'source' is a string: dropped.
  assert batch["image"].shape == (16, 64, 64, 3)
  assert batch["image"].dtype == np.float32
  assert -1.0 <= batch["image"].min() and batch["image"].max() <= 1.0
  assert (tmp_path / "photo_patches" / "64" / "2.0.0").is_dir()


def test_glob_images_of_different_sizes_need_a_resize(tmp_path):
  import PIL.Image  # pylint: disable=g-import-not-at-top

  for i, size in enumerate((20, 24)):
    PIL.Image.fromarray(np.zeros((size, size, 3), np.uint8)).save(
      tmp_path / f"photo_{i}.png"
    )
  with pytest.raises(ValueError, match="resize"):
    data.get_dataset(f"glob:{tmp_path}/*.png", "train_full", batch_size=1)
  dataset = data.get_dataset(
    f"glob:{tmp_path}/*.png",
    "train_full",
    batch_size=1,
    preprocess_fn=preprocessing.get_preprocess_fn("resize(16)"),
  )
  assert dataset.element_spec["image"].shape.as_list() == [1, 16, 16, 3]


def _cifar_batches(
  pipeline,
  batch_preprocessing,
  seed=None,
  num_examples=16,
  batch_size=8,
  **kwargs,
):
  preprocess_fn = preprocessing.get_preprocess_fn(pipeline)
  with tfds.testing.mock_data(num_examples=num_examples):
    dataset = data.get_dataset(
      "cifar10",
      "train_full",
      batch_size=batch_size,
      preprocess_fn=preprocess_fn,
      seed=seed,
      batch_preprocessing=batch_preprocessing,
      **kwargs,
    )
    return _all_images(dataset)


def test_batched_preprocessing_equals_per_example_when_deterministic():
  pipeline = "central_crop(24)|resize(20)|value_range(-1, 1)"
  batched = _cifar_batches(
    pipeline, True, drop_remainder=False, num_examples=13
  )
  np.testing.assert_array_equal(
    batched,
    _cifar_batches(pipeline, False, drop_remainder=False, num_examples=13),
  )
  assert batched.shape == (13, 20, 20, 3)


def test_batched_preprocessing_draws_a_crop_and_flip_per_image():
  """Same distribution as per example: every image its own offset and flip."""
  originals = _cifar_batches("", True, num_examples=8, batch_size=8)
  crops = _cifar_batches(
    "random_crop(28)|flip_lr()", True, seed=0, num_examples=8, batch_size=8
  )
  windows = np.lib.stride_tricks.sliding_window_view(
    originals, (28, 28), axis=(1, 2)
  )  # [8, 5, 5, 3, 28, 28]
  windows = np.moveaxis(windows, 3, -1)  # [8, 5, 5, 28, 28, 3]
  offsets, flips = [], []
  for image, crop in zip(windows, crops):
    for flipped, candidate in ((0, crop), (1, crop[:, ::-1])):
      found = np.argwhere(np.all(image == candidate, axis=(2, 3, 4)))
      if len(found):
        offsets.append(tuple(found[0]))
        flips.append(flipped)
        break
    else:
      raise AssertionError("A crop is no flipped window of its image.")
  assert len(set(offsets)) > 1 and 0 < sum(flips) < len(flips)


def test_flip_probability_is_one_half_with_batched_preprocessing():
  originals = _cifar_batches("", True, num_examples=64, batch_size=64)
  flipped = _cifar_batches(
    "flip_lr()", True, seed=1, num_examples=64, batch_size=64
  )
  is_flipped = [not np.array_equal(a, b) for a, b in zip(originals, flipped)]
  assert 20 <= sum(is_flipped) <= 44  # Binomial(64, 1/2): 4 sigma.


def test_preprocess_fns_without_batch_support_run_per_example():
  ranks = []

  def preprocess_fn(features):
    ranks.append(features["image"].shape.rank)
    return features

  with tfds.testing.mock_data(num_examples=4):
    data.get_dataset(
      "cifar10", "test", batch_size=2, preprocess_fn=preprocess_fn
    )
  assert ranks == [3]
  ranks.clear()
  preprocess_fn.supports_batches = True
  with tfds.testing.mock_data(num_examples=4):
    data.get_dataset(
      "cifar10", "test", batch_size=2, preprocess_fn=preprocess_fn
    )
  assert ranks == [4]


def test_tests_build_tfds_data_in_a_temporary_directory():
  assert os.environ["TFDS_DATA_DIR"] == conftest.TFDS_DATA_DIR
  assert os.path.basename(conftest.TFDS_DATA_DIR).startswith("yoto_tests_tfds_")
  builder = tfds.builder("photo_patches")
  assert str(builder.data_dir_root) == conftest.TFDS_DATA_DIR
