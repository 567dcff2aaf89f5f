"""The style bank: targets computed once, which style each example gets."""

import numpy as np
import pytest
import tensorflow as tf

from yoto.problems import style_bank
from yoto.utils import style_augmentation
from yoto.utils import styles

# More styles than one start-up batch, so that batching is exercised.
NUM_STYLES = 11


def _targets(images):
  """Stand-in targets: a 'Gram matrix' [b, 1, 1] and features [b, 2]."""
  means = tf.reduce_mean(images, axis=[1, 2])  # [b, 3]
  return ({"layer": means[:, :1, tf.newaxis]}, means[:, 1:])


def _style_set(held_out=(False,) * 8 + (True,) * 3):
  images = (
    np.random.default_rng(0)
    .uniform(size=[NUM_STYLES, 8, 8, 3])
    .astype(np.float32)
  )
  names = tuple(f"style{i}" for i in range(NUM_STYLES))
  return styles.StyleSet(names, images, tuple(held_out), "test")


@pytest.fixture(name="bank", scope="module")
def bank_fixture():
  return style_bank.StyleBank(_style_set(), "held_out", _targets)


def test_targets_are_computed_for_every_style_in_order(bank):
  grams, features = _targets(tf.constant(_style_set().images))
  np.testing.assert_allclose(
    bank.grams["layer"].numpy(), grams["layer"].numpy(), rtol=1e-6
  )
  np.testing.assert_allclose(bank.features.numpy(), features.numpy(), rtol=1e-6)
  indices = tf.constant([10, 0, 10])
  np.testing.assert_array_equal(
    bank.gram_targets(indices)["layer"].numpy(),
    tf.gather(grams["layer"], indices).numpy(),
  )


def test_training_draws_training_styles_and_eval_fixed_held_out_ones(bank):
  style_set = bank.style_set
  content = tf.random.stateless_uniform([64, 32, 32, 3], seed=[5, 6])
  train = bank.indices(content, True, tf.constant([1, 2])).numpy()
  assert set(train) <= set(style_set.train_indices)
  assert len(set(train)) > 1
  again = bank.indices(content, True, tf.constant([1, 2])).numpy()
  np.testing.assert_array_equal(train, again)
  held = bank.indices(content, False).numpy()
  assert set(held) == set(style_set.held_out_indices)
  # The same content gets the same style in any batch, e.g. YOTO's tiled
  # evaluation batch (K copies, one per weight vector).
  tiled = bank.indices(tf.tile(content[:5], [3, 1, 1, 1]), False)
  np.testing.assert_array_equal(tiled.numpy(), np.tile(held[:5], 3))


def test_evaluation_without_held_out_styles_uses_the_training_ones():
  bank = style_bank.StyleBank(
    _style_set((False,) * NUM_STYLES), "held_out", _targets
  )
  content = tf.random.stateless_uniform([64, 8, 8, 3], seed=[7, 8])
  assert len(set(bank.indices(content, False).numpy())) > 1


def test_augmented_images_follow_the_seed_not_the_style_draw(bank):
  augmentation = style_augmentation.StyleAugmentation()
  indices = tf.constant([0, 3, 3])
  augmented = bank.augmented_images(indices, tf.constant([1, 2]), augmentation)
  assert augmented.shape == [3, 8, 8, 3]
  np.testing.assert_array_equal(
    augmented.numpy(),
    bank.augmented_images(indices, tf.constant([1, 2]), augmentation).numpy(),
  )
  # Not the augmentation the step's seed itself would give.
  direct = augmentation(tf.gather(bank.images, indices), tf.constant([1, 2]))
  assert float(tf.reduce_max(tf.abs(direct - augmented))) > 1e-3


def test_content_fingerprint_depends_on_the_quantized_content_only():
  levels = tf.random.stateless_uniform(
    [4, 6, 6, 3], seed=[1, 1], maxval=255, dtype=tf.int32
  )
  images = tf.cast(levels, tf.float32) / 255.0  # Exactly on 8-bit levels.
  prints = style_bank.content_fingerprint(images).numpy()
  assert prints.dtype == np.int64 and (prints >= 0).all()
  assert len(set(prints)) == 4
  # Less than half a level away: the same 8-bit image, the same print.
  nudged = style_bank.content_fingerprint(images + 0.4 / 255).numpy()
  np.testing.assert_array_equal(prints, nudged)
  changed = style_bank.content_fingerprint(images + 0.6 / 255).numpy()
  assert not (prints == changed).any()
