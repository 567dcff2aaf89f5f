"""Tests of the `procedural_shapes` dataset: deterministic, disjoint splits,
each factor visible in the image."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from yoto.utils import procedural_shapes

MIDDLE = {
  name: size // 2 for name, size in procedural_shapes.FACTOR_SIZES.items()
}


def _with(**changes):
  return dict(MIDDLE, **changes)


def test_splits_are_disjoint_deterministic_and_sized():
  first, second = (procedural_shapes.split_scenes() for _ in range(2))
  for split, size in procedural_shapes.SPLIT_SIZES.items():
    assert first[split].shape == (size, len(procedural_shapes.FACTOR_SIZES))
    np.testing.assert_array_equal(first[split], second[split])
  scenes = [set(map(tuple, first[s])) for s in first]
  assert sum(len(s) for s in scenes) == len(set().union(*scenes))
  upper = np.array(list(procedural_shapes.FACTOR_SIZES.values()))
  for split in first.values():
    assert (split >= 0).all() and (split < upper).all()


def test_every_factor_changes_the_image():
  base = procedural_shapes.render(MIDDLE, 32)
  assert base.shape == (32, 32, 3) and base.dtype == np.uint8
  for name, size in procedural_shapes.FACTOR_SIZES.items():
    other = procedural_shapes.render(
      _with(**{name: (MIDDLE[name] + 1) % size}), 32
    )
    assert np.abs(other.astype(int) - base).sum() > 0, name


def test_object_hue_changes_only_the_object():
  base = procedural_shapes.render(_with(shape=0), 32)
  other = procedural_shapes.render(_with(shape=0, object_hue=0), 32)
  changed = np.any(base != other, axis=-1)
  # A square of half-size between 1/8 and 1/4 of the side: a few dozen
  # pixels, never the background.
  assert 16 < changed.sum() < 32 * 32 // 4
  assert not changed[0].any() and not changed[:, 0].any()


def test_unknown_shape_is_named():
  with pytest.raises(ValueError, match="hexagon"):
    procedural_shapes._shape_mask("hexagon", np.zeros(1), np.zeros(1))


def test_builder_registers_with_tfds_and_declares_both_sizes():
  assert "procedural_shapes" in tfds.list_builders()
  sizes = [
    c.image_size for c in procedural_shapes.ProceduralShapes.BUILDER_CONFIGS
  ]
  assert sizes == [32, 64]
  image = procedural_shapes.render(MIDDLE, 64)
  assert image.shape == (64, 64, 3)
