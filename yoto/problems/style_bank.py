"""The style images of a style-transfer problem and which one each example gets.

Style images belong to the problem: a `StyleSet` (`yoto.utils.styles`, the
generated offline set or a glob of files) held as constants, with some styles
held out. In training every example gets a uniformly random training style
from the step's stateless seed; in evaluation a style of `eval_styles` chosen
by a fingerprint of the content image, so every model, every eval weight
vector (YOTO evaluates K weight vectors on K copies of a batch) and every run
sees the same (content, style) pairs.

The style targets of each style image (the loss network's Gram matrices and
the style network's frozen features) are computed once, when the bank is
made. Augmented style images (`augmented_images`, as in Magenta's training)
are new images: the problem computes their targets in the step.
"""

from typing import Callable, Dict, Optional, Tuple

import tensorflow as tf

from yoto.utils import style_augmentation
from yoto.utils import styles

EVAL_STYLES = ("held_out", "train", "all")
# Style images go through the loss network this many at a time at start-up.
_STYLE_BATCH = 8

# Style images [b, h, w, 3] -> (Gram matrices {style layer: [b, C, C]},
# the style network's frozen features [b, ...]).
StyleTargetsFn = Callable[[tf.Tensor], Tuple[Dict[str, tf.Tensor], tf.Tensor]]


def content_fingerprint(images: tf.Tensor) -> tf.Tensor:
  """A deterministic non-negative int64 per image [B, H, W, C] -> [B]."""
  quantized = tf.cast(
    tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8
  )
  digest = tf.cast(tf.fingerprint(quantized), tf.int64)  # [B, 8] bytes.
  powers = tf.constant([1 << (8 * i) for i in range(4)], tf.int64)
  return tf.reduce_sum(digest[:, :4] * powers, axis=1)


def _targets_in_batches(
  style_targets: StyleTargetsFn, images: tf.Tensor
) -> Tuple[Dict[str, tf.Tensor], tf.Tensor]:
  """`style_targets(images)`, computed `_STYLE_BATCH` images at a time."""
  grams, features = {}, []
  for start in range(0, int(images.shape[0]), _STYLE_BATCH):
    batch_grams, batch_features = style_targets(
      images[start : start + _STYLE_BATCH]
    )
    for layer, gram in batch_grams.items():
      grams.setdefault(layer, []).append(gram)
    features.append(batch_features)
  return (
    {k: tf.concat(v, 0) for k, v in grams.items()},
    tf.concat(features, 0),
  )


class StyleBank:
  """A `StyleSet` as constants, with each style's precomputed targets.

  A plain object, not a tf.Module: it holds constants, nothing a checkpoint
  saves.

  Attributes:
    style_set: the `StyleSet`.
    images: [S, h, w, 3] float32 in [0, 1], one per style.
    grams: {style layer: [S, C, C]}, the style images' Gram matrices.
    features: [S, ...], the style network's frozen features of each image.
    train_styles: int32 [T], the styles training draws from.
    eval_styles: int32 [E], the styles evaluation draws from.
  """

  def __init__(
    self,
    style_set: styles.StyleSet,
    eval_styles: str,
    style_targets: StyleTargetsFn,
  ):
    """Computes every style's targets.

    Args:
      style_set: the style images.
      eval_styles: 'held_out', 'train' or 'all' (see `StyleSet.eval_indices`).
      style_targets: computes the targets of a batch of style images.
    """
    self.style_set = style_set
    self.images = tf.constant(style_set.images)
    self.grams, self.features = _targets_in_batches(style_targets, self.images)
    self.train_styles = tf.constant(style_set.train_indices, tf.int32)
    self.eval_styles = tf.constant(
      style_set.eval_indices(eval_styles), tf.int32
    )

  def indices(
    self, content: tf.Tensor, training: bool, seed: Optional[tf.Tensor] = None
  ) -> tf.Tensor:
    """The style of each example [B]: random in training, fixed in eval.

    Args:
      content: [B, H, W, 3] content images; in evaluation their fingerprint
        picks the style.
      training: draw among the training styles (from `seed` [2], or from the
        global generator without one).
      seed: int tensor [2].
    """
    batch = tf.shape(content)[0]
    if training:
      count = tf.shape(self.train_styles)[0]
      if seed is None:
        picks = tf.random.uniform([batch], 0, count, tf.int32)
      else:
        picks = tf.random.stateless_uniform(
          [batch], tf.cast(seed, tf.int64), 0, count, tf.int32
        )
      return tf.gather(self.train_styles, picks)
    count = tf.cast(tf.shape(self.eval_styles)[0], tf.int64)
    picks = tf.cast(content_fingerprint(content) % count, tf.int32)
    return tf.gather(self.eval_styles, picks)

  def gram_targets(self, style_indices: tf.Tensor) -> Dict[str, tf.Tensor]:
    """{style layer: [B, C, C]} of the styles `style_indices` [B]."""
    return {
      layer: tf.gather(grams, style_indices)
      for layer, grams in self.grams.items()
    }

  def augmented_images(
    self,
    style_indices: tf.Tensor,
    seed: Optional[tf.Tensor],
    augmentation: style_augmentation.StyleAugmentation,
  ) -> tf.Tensor:
    """The style images [B, h, w, 3] of `style_indices` [B], randomly
    changed by `augmentation` (a pure function of `seed` [2])."""
    images = tf.gather(self.images, style_indices)
    if seed is None:
      seed = tf.random.uniform([2], maxval=tf.int64.max, dtype=tf.int64)
    # A seed of its own, independent of the style draw's.
    seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 1)
    return augmentation(images, seed)
