"""Tests of the tfds input pipelines, offline (mocked or embedded data)."""

import os
import time

import conftest
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import gcs_utils

from yoto.utils import data
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
  assert (tmp_path / 'photo_patches' / '64' / '1.1.0').is_dir()


def test_embedded_validation_split_comes_from_the_held_out_photo(tmp_path):
  for split, sources in ((data.DatasetSplit.VALID, {b'chelsea'}),
                         (data.DatasetSplit.TRAIN,
                          {s.encode() for s in photo_patches.TRAIN_SOURCES})):
    raw = data.load_split('photo_patches/64', {
        data.DatasetSplit.VALID: 'validation',
        data.DatasetSplit.TRAIN: 'train'}[split], data_dir=str(tmp_path))
    seen = {example['source'].numpy() for example in raw}
    assert seen == sources
  validation = data.get_dataset('photo_patches/64', data.DatasetSplit.VALID,
                                batch_size=500, data_dir=str(tmp_path))
  test = data.get_dataset('photo_patches/64', data.DatasetSplit.TEST,
                          batch_size=500, data_dir=str(tmp_path))
  # Both come from chelsea but are different crops.
  assert not np.array_equal(_first_batch(validation)['image'],
                            _first_batch(test)['image'])


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


def test_tests_build_tfds_data_in_a_temporary_directory():
  assert os.environ["TFDS_DATA_DIR"] == conftest.TFDS_DATA_DIR
  assert os.path.basename(conftest.TFDS_DATA_DIR).startswith(
      "yoto_tests_tfds_")
  builder = tfds.builder("photo_patches")
  assert str(builder.data_dir_root) == conftest.TFDS_DATA_DIR
