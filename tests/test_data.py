"""Tests of the tfds input pipelines, offline (mocked or embedded data)."""

import os
import time

import conftest
import image_headers
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import gcs_utils

from yoto.utils import data
from yoto.utils import image_files
from yoto.utils import photo_patches
from yoto.utils import preprocessing


def _first_batch(dataset):
  return {k: v.numpy() for k, v in next(iter(dataset)).items()}


def _all_images(dataset):
  return np.concatenate([batch['image'].numpy() for batch in dataset])


@pytest.mark.parametrize('split, expected', [
    (data.DatasetSplit.TRAIN, 'train[20%:]'),
    (data.DatasetSplit.VALID, 'train[:20%]'),
    (data.DatasetSplit.TRAIN_FULL, 'train'),
    (data.DatasetSplit.TEST, 'test'),
])
def test_split_strings_follow_the_original_code(split, expected):
  assert split.tfds_split() == expected
  assert data.DatasetSplit(split.value) is split


def test_validation_percent_is_used_and_checked():
  assert data.DatasetSplit.VALID.tfds_split(10) == 'train[:10%]'
  assert data.DatasetSplit.TRAIN.tfds_split(35) == 'train[35%:]'
  for bad in (0, 100, 12.5, True):
    with pytest.raises(ValueError, match='validation_percent'):
      data.DatasetSplit.TRAIN.tfds_split(bad)


@pytest.mark.parametrize('name, size', [('cifar10', 32), ('shapes3d', 64)])
@pytest.mark.parametrize('split', list(data.DatasetSplit))
def test_mock_data_loads_every_split(name, size, split):
  preprocess_fn = preprocessing.get_preprocess_fn('value_range(0, 1)')
  with tfds.testing.mock_data(num_examples=8):
    dataset = data.get_dataset(name, split, validation_percent=20,
                               batch_size=4, preprocess_fn=preprocess_fn,
                               shuffle=True, repeat=True, seed=0)
    batch = _first_batch(dataset)
  assert batch['image'].shape == (4, size, size, 3)
  assert batch['image'].dtype == np.float32
  assert 0.0 <= batch['image'].min() and batch['image'].max() <= 1.0
  for value in batch.values():
    assert value.dtype != object and value.shape[0] == 4


def test_string_features_are_dropped_numeric_ones_kept():
  with tfds.testing.mock_data(num_examples=4):
    batch = _first_batch(data.get_dataset('cifar10', 'test', batch_size=2))
  assert sorted(batch) == ['image', 'label']  # 'id' (a string) is gone.
  assert batch['image'].dtype == np.uint8  # No preprocess_fn: as decoded.


def test_missing_dataset_raises_helpful_error_quickly(tmp_path):
  start = time.monotonic()
  with pytest.raises(data.DatasetNotAvailableError) as error:
    data.get_dataset('cifar10', data.DatasetSplit.TRAIN, batch_size=8,
                     data_dir=str(tmp_path))
  assert time.monotonic() - start < 10.0
  message = str(error.value)
  assert "'cifar10'" in message and str(tmp_path) in message
  assert 'tfds build cifar10 --data_dir=DIR' in message
  assert "tfds.builder('cifar10', data_dir='DIR').download_and_prepare()" in (
      message)
  assert '--data_dir=DIR' in message and "'photo_patches'" in message
  assert isinstance(error.value, ValueError)


def test_importing_data_disables_tfds_gcs():
  assert gcs_utils._is_gcs_disabled  # pylint: disable=protected-access
  assert not gcs_utils.is_dataset_on_gcs('cifar10')


def _seeded_images(seed, num_batches=3):
  preprocess_fn = preprocessing.get_preprocess_fn(
      'random_crop(24)|flip_lr()|value_range(0, 1)')
  with tfds.testing.mock_data(num_examples=16):
    dataset = data.get_dataset('cifar10', 'train_full', batch_size=4,
                               preprocess_fn=preprocess_fn, shuffle=True,
                               repeat=True, seed=seed)
    return _all_images(dataset.take(num_batches))


def test_seed_makes_shuffling_and_augmentation_deterministic():
  first = _seeded_images(seed=3)
  assert first.shape == (12, 24, 24, 3)
  np.testing.assert_array_equal(first, _seeded_images(seed=3))
  assert not np.array_equal(first, _seeded_images(seed=4))


def test_every_epoch_gets_fresh_random_crops():
  preprocess_fn = preprocessing.get_preprocess_fn('random_crop(16)')
  with tfds.testing.mock_data(num_examples=1):
    dataset = data.get_dataset('cifar10', 'test', batch_size=1,
                               preprocess_fn=preprocess_fn, repeat=True,
                               seed=0)
    crops = _all_images(dataset.take(6))
  assert len({crop.tobytes() for crop in crops}) > 1


def test_input_context_shards_disjointly_and_keeps_the_batch_size():
  shards = []
  with tfds.testing.mock_data(num_examples=8):
    everything = _all_images(data.get_dataset('cifar10', 'test', batch_size=8))
    for pipeline_id in range(2):
      context = tf.distribute.InputContext(
          num_input_pipelines=2, input_pipeline_id=pipeline_id,
          num_replicas_in_sync=4)
      # The caller passes the per-replica batch size; it is used as given.
      per_replica = context.get_per_replica_batch_size(8)
      dataset = data.get_dataset('cifar10', 'test', batch_size=per_replica,
                                 input_context=context)
      assert dataset.element_spec['image'].shape[0] == 2
      shards.append(_all_images(dataset))
  assert [len(shard) for shard in shards] == [4, 4]
  as_set = lambda images: {image.tobytes() for image in images}
  assert not as_set(shards[0]) & as_set(shards[1])
  assert as_set(shards[0]) | as_set(shards[1]) == as_set(everything)


def test_single_pipeline_context_with_replicas_keeps_the_batch_size():
  context = tf.distribute.InputContext(num_replicas_in_sync=2)
  with tfds.testing.mock_data(num_examples=8):
    dataset = data.get_dataset('cifar10', 'test', batch_size=4,
                               input_context=context)
    assert [len(b['image']) for b in dataset] == [4, 4]


def test_drop_remainder_false_keeps_the_last_batch():
  with tfds.testing.mock_data(num_examples=5):
    sizes = [len(b['image']) for b in data.get_dataset(
        'cifar10', 'test', batch_size=2, drop_remainder=False)]
    dropped = [len(b['image']) for b in data.get_dataset(
        'cifar10', 'test', batch_size=2)]
  assert sizes == [2, 2, 1] and dropped == [2, 2]


def test_embedded_dataset_is_built_on_first_use(tmp_path):
  preprocess_fn = preprocessing.get_preprocess_fn('value_range(-1, 1)')
  dataset = data.get_dataset('photo_patches/64', data.DatasetSplit.VALID,
                             batch_size=16, preprocess_fn=preprocess_fn,
                             data_dir=str(tmp_path))
  batch = _first_batch(dataset)
  assert sorted(batch) == ['image']  # 'source' is a string: dropped.
  assert batch['image'].shape == (16, 64, 64, 3)
  assert batch['image'].dtype == np.float32
  assert -1.0 <= batch['image'].min() and batch['image'].max() <= 1.0
  assert (tmp_path / 'photo_patches' / '64' / '2.0.0').is_dir()


def test_embedded_splits_come_from_their_own_photos(tmp_path):
  expected = {
      data.DatasetSplit.TRAIN: photo_patches.TRAIN_SOURCES,
      data.DatasetSplit.VALID: ('chelsea',),
      data.DatasetSplit.TEST: ('rocket', 'grace_hopper'),
  }
  for split, sources in expected.items():
    raw = data.load_split('photo_patches/64', {
        data.DatasetSplit.VALID: 'validation',
        data.DatasetSplit.TRAIN: 'train',
        data.DatasetSplit.TEST: 'test'}[split], data_dir=str(tmp_path))
    seen = {example['source'].numpy() for example in raw}
    assert seen == {s.encode() for s in sources}
  validation = data.get_dataset('photo_patches/64', data.DatasetSplit.VALID,
                                batch_size=500, data_dir=str(tmp_path))
  test = data.get_dataset('photo_patches/64', data.DatasetSplit.TEST,
                          batch_size=512, data_dir=str(tmp_path))
  assert len(_all_images(validation)) == 500
  assert len(_all_images(test)) == 512  # 256 of each test photo.


def _write_pngs(folder, count):
  """`count` PNGs of different sizes; pixel value i in file i."""
  import PIL.Image  # pylint: disable=g-import-not-at-top
  for i in range(count):
    image = np.full((20 + i, 24 + 2 * i, 3), i, np.uint8)
    PIL.Image.fromarray(image).save(folder / f'photo_{i:02d}.png')
  return str(folder / '*.png')


def test_glob_reads_image_files_split_by_file(tmp_path):
  pattern = _write_pngs(tmp_path, 12)
  preprocess_fn = preprocessing.get_preprocess_fn(
      'resize(16)|value_range(0, 1)')
  seen = {}
  for split in data.DatasetSplit:
    dataset = data.get_dataset(f'glob:{pattern}', split, batch_size=1,
                               preprocess_fn=preprocess_fn)
    images = _all_images(dataset)
    assert images.shape[1:] == (16, 16, 3) and images.dtype == np.float32
    seen[split] = set(np.round(images[:, 0, 0, 0] * 255).astype(int))
  test, valid, train = (seen[data.DatasetSplit.TEST],
                        seen[data.DatasetSplit.VALID],
                        seen[data.DatasetSplit.TRAIN])
  assert len(test) == 1 and len(valid) == 2 and len(train) == 9
  assert not test & (valid | train) and not valid & train
  assert valid | train == seen[data.DatasetSplit.TRAIN_FULL]
  # Deterministic: the same files give the same split.
  assert data.glob_split_files(pattern, 'test') == data.glob_split_files(
      pattern, 'test')


def test_glob_refuses_an_oversized_file_before_decoding(tmp_path):
  """A 30000 x 30000 PNG header among small images: the split is refused
  from the headers, naming the file, unless the bound allows it."""
  pattern = _write_pngs(tmp_path, 3)
  (tmp_path / 'photo_99.png').write_bytes(
      image_headers.png_header(30000, 30000))
  with pytest.raises(image_files.ImageTooLargeError,
                     match=r'photo_99\.png is 30000x30000'):
    data.get_dataset(f'glob:{pattern}', 'train_full', batch_size=1,
                     max_pixels=4096 * 4096)
  # Raised: only the headers are read, so a bound that admits it lets the
  # split through to the decoder (which the dataset would reach lazily).
  data.get_dataset(f'glob:{pattern}', 'train_full', batch_size=1,
                   drop_remainder=False, max_pixels=30000 * 30000,
                   preprocess_fn=preprocessing.get_preprocess_fn(
                       'central_crop(8)'))


def test_glob_errors_name_the_problem(tmp_path):
  with pytest.raises(ValueError, match='No files match'):
    data.get_dataset(f'glob:{tmp_path}/*.jpg', 'train', batch_size=1)
  pattern = _write_pngs(tmp_path, 3)
  with pytest.raises(ValueError, match='resize'):  # Sizes differ.
    data.get_dataset(f'glob:{pattern}', 'train_full', batch_size=1)
  (tmp_path / 'notes.png').write_text('not an image')
  errors = []
  for split in ('train_full', 'test'):  # notes.png is in one of them.
    dataset = data.get_dataset(
        f'glob:{pattern}', split, batch_size=4, drop_remainder=False,
        preprocess_fn=preprocessing.get_preprocess_fn('central_crop(8)'))
    try:
      _all_images(dataset)
    except tf.errors.InvalidArgumentError as e:
      errors.append(str(e))
  assert len(errors) == 1
  assert 'not a JPEG, PNG, GIF or BMP' in errors[0]
  assert 'notes.png' in errors[0]
  with pytest.raises(ValueError, match='has no files'):
    data.glob_split_files(str(tmp_path / 'photo_00.png'), 'test')


def _cifar_batches(pipeline, batch_preprocessing, seed=None, num_examples=16,
                   batch_size=8, **kwargs):
  preprocess_fn = preprocessing.get_preprocess_fn(pipeline)
  with tfds.testing.mock_data(num_examples=num_examples):
    dataset = data.get_dataset(
        'cifar10', 'train_full', batch_size=batch_size,
        preprocess_fn=preprocess_fn, seed=seed,
        batch_preprocessing=batch_preprocessing, **kwargs)
    return _all_images(dataset)


def test_batched_preprocessing_equals_per_example_when_deterministic():
  pipeline = 'central_crop(24)|resize(20)|value_range(-1, 1)'
  batched = _cifar_batches(pipeline, True, drop_remainder=False,
                           num_examples=13)
  np.testing.assert_array_equal(batched, _cifar_batches(
      pipeline, False, drop_remainder=False, num_examples=13))
  assert batched.shape == (13, 20, 20, 3)


def test_batched_preprocessing_draws_a_crop_and_flip_per_image():
  """Same distribution as per example: every image its own offset and flip."""
  originals = _cifar_batches('', True, num_examples=8, batch_size=8)
  crops = _cifar_batches('random_crop(28)|flip_lr()', True, seed=0,
                         num_examples=8, batch_size=8)
  windows = np.lib.stride_tricks.sliding_window_view(
      originals, (28, 28), axis=(1, 2))  # [8, 5, 5, 3, 28, 28]
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
      raise AssertionError('A crop is no flipped window of its image.')
  assert len(set(offsets)) > 1 and 0 < sum(flips) < len(flips)


def test_flip_probability_is_one_half_with_batched_preprocessing():
  originals = _cifar_batches('', True, num_examples=64, batch_size=64)
  flipped = _cifar_batches('flip_lr()', True, seed=1, num_examples=64,
                           batch_size=64)
  is_flipped = [not np.array_equal(a, b) for a, b in zip(originals, flipped)]
  assert 20 <= sum(is_flipped) <= 44  # Binomial(64, 1/2): 4 sigma.


def test_preprocess_fns_without_batch_support_run_per_example():
  ranks = []

  def preprocess_fn(features):
    ranks.append(features['image'].shape.rank)
    return features

  with tfds.testing.mock_data(num_examples=4):
    data.get_dataset('cifar10', 'test', batch_size=2,
                     preprocess_fn=preprocess_fn)
  assert ranks == [3]
  ranks.clear()
  preprocess_fn.supports_batches = True
  with tfds.testing.mock_data(num_examples=4):
    data.get_dataset('cifar10', 'test', batch_size=2,
                     preprocess_fn=preprocess_fn)
  assert ranks == [4]


def test_tests_build_tfds_data_in_a_temporary_directory():
  assert os.environ["TFDS_DATA_DIR"] == conftest.TFDS_DATA_DIR
  assert os.path.basename(conftest.TFDS_DATA_DIR).startswith(
      "yoto_tests_tfds_")
  builder = tfds.builder("photo_patches")
  assert str(builder.data_dir_root) == conftest.TFDS_DATA_DIR
