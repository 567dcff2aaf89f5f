"""Tests of yoto.utils.data_sources: the splits of TFDS datasets (mocked or
embedded, built offline) and of image files, and the errors that say what is
missing."""

import time

import image_headers
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import gcs_utils

from yoto.utils import data_sources
from yoto.utils import image_files
from yoto.utils import photo_patches

Split = data_sources.DatasetSplit


@pytest.mark.parametrize(
  "split, expected",
  [
    (Split.TRAIN, "train[20%:]"),
    (Split.VALID, "train[:20%]"),
    (Split.TRAIN_FULL, "train"),
    (Split.TEST, "test"),
  ],
)
def test_split_strings_follow_the_original_code(split, expected):
  assert split.tfds_split() == expected
  assert Split(split.value) is split


def test_validation_percent_is_used_and_checked():
  assert Split.VALID.tfds_split(10) == "train[:10%]"
  assert Split.TRAIN.tfds_split(35) == "train[35%:]"
  for bad in (0, 100, 12.5, True):
    with pytest.raises(ValueError, match="validation_percent"):
      Split.TRAIN.tfds_split(bad)


def test_missing_dataset_raises_helpful_error_quickly(tmp_path):
  start = time.monotonic()
  with pytest.raises(data_sources.DatasetNotAvailableError) as error:
    data_sources.load_examples("cifar10", Split.TRAIN, data_dir=str(tmp_path))
  assert time.monotonic() - start < 10.0
  message = str(error.value)
  assert "'cifar10'" in message and str(tmp_path) in message
  assert "tfds build cifar10 --data_dir=DIR" in message
  assert "tfds.builder('cifar10', data_dir='DIR').download_and_prepare()" in (
    message
  )
  assert "--data_dir=DIR" in message and "'photo_patches'" in message
  assert isinstance(error.value, ValueError)


def test_importing_data_sources_disables_tfds_gcs():
  assert gcs_utils._is_gcs_disabled  # pylint: disable=protected-access
  assert not gcs_utils.is_dataset_on_gcs("cifar10")


def _sources(dataset):
  return {example["source"].numpy() for example in dataset}


def test_embedded_splits_come_from_their_own_photos(tmp_path):
  expected = {
    Split.TRAIN: photo_patches.TRAIN_SOURCES,
    Split.VALID: ("chelsea",),
    Split.TEST: ("rocket", "grace_hopper"),
  }
  for split, sources in expected.items():
    raw = data_sources.load_split(
      "photo_patches/64",
      {Split.VALID: "validation", Split.TRAIN: "train", Split.TEST: "test"}[
        split
      ],
      data_dir=str(tmp_path),
    )
    assert _sources(raw) == {s.encode() for s in sources}
    # load_examples maps the embedded splits to their own TFDS splits.
    assert _sources(
      data_sources.load_examples(
        "photo_patches/64", split, data_dir=str(tmp_path)
      )
    ) == _sources(raw)
  count = lambda split: int(
    data_sources.load_examples(
      "photo_patches/64", split, data_dir=str(tmp_path)
    ).reduce(0, lambda n, _: n + 1)
  )
  assert count(Split.VALID) >= 500
  assert count(Split.TEST) == 512  # 256 of each test photo.


def test_sharded_pipelines_read_disjoint_halves():
  with tfds.testing.mock_data(num_examples=8):
    shards = [
      [
        example["id"].numpy()
        for example in data_sources.load_examples(
          "cifar10", "test", num_pipelines=2, pipeline_id=i
        )
      ]
      for i in (0, 1)
    ]
  assert [len(shard) for shard in shards] == [4, 4]
  assert not set(shards[0]) & set(shards[1])


def _write_pngs(folder, count):
  """`count` PNGs of different sizes; pixel value i in file i."""
  import PIL.Image  # pylint: disable=g-import-not-at-top

  for i in range(count):
    image = np.full((20 + i, 24 + 2 * i, 3), i, np.uint8)
    PIL.Image.fromarray(image).save(folder / f"photo_{i:02d}.png")
  return str(folder / "*.png")


def _file_indices(pattern, split):
  """The pixel values (= file indices) of a 'glob:' split's images."""
  return {
    int(example["image"][0, 0, 0])
    for example in data_sources.load_examples(f"glob:{pattern}", split)
  }


def test_glob_reads_image_files_split_by_file(tmp_path):
  pattern = _write_pngs(tmp_path, 12)
  seen = {split: _file_indices(pattern, split) for split in Split}
  test, valid, train = seen[Split.TEST], seen[Split.VALID], seen[Split.TRAIN]
  assert len(test) == 1 and len(valid) == 2 and len(train) == 9
  assert not test & (valid | train) and not valid & train
  assert valid | train == seen[Split.TRAIN_FULL]
  # Deterministic: the same files give the same split.
  assert data_sources.glob_split_files(pattern, "test") == (
    data_sources.glob_split_files(pattern, "test")
  )


def test_glob_refuses_an_oversized_file_before_decoding(tmp_path):
  """A 30000 x 30000 PNG header among small images: the split is refused
  from the headers, naming the file, unless the bound allows it."""
  pattern = _write_pngs(tmp_path, 3)
  (tmp_path / "photo_99.png").write_bytes(
    image_headers.png_header(30000, 30000)
  )
  with pytest.raises(
    image_files.ImageTooLargeError, match=r"photo_99\.png is 30000x30000"
  ):
    data_sources.load_examples(
      f"glob:{pattern}", "train_full", max_pixels=4096 * 4096
    )
  # Raised: only the headers are read, so a bound that admits it lets the
  # split through to the decoder (which the dataset would reach lazily).
  data_sources.load_examples(
    f"glob:{pattern}", "train_full", max_pixels=30000 * 30000
  )


def test_glob_errors_name_the_problem(tmp_path):
  with pytest.raises(ValueError, match="No files match"):
    data_sources.load_examples(f"glob:{tmp_path}/*.jpg", "train")
  pattern = _write_pngs(tmp_path, 3)
  (tmp_path / "notes.png").write_text("not an image")
  errors = []
  for split in ("train_full", "test"):  # notes.png is in one of them.
    try:
      _file_indices(pattern, split)
    except tf.errors.InvalidArgumentError as e:
      errors.append(str(e))
  assert len(errors) == 1
  assert "not a JPEG, PNG, GIF or BMP" in errors[0]
  assert "notes.png" in errors[0]
  with pytest.raises(ValueError, match="has no files"):
    data_sources.glob_split_files(str(tmp_path / "photo_00.png"), "test")
