"""Random changes of training style images, as Magenta's training does.

`StyleAugmentation` (gin: `@StyleAugmentation()`) crops and zooms, flips,
and shifts brightness, saturation and hue of a batch of style images; it is a
pure function of a stateless seed, so a training step's augmentation
reproduces. The style-transfer problem applies it to each training example's
style image (`StyleTransferProblem.style_augmentation`).
"""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class StyleAugmentation:
  """Random changes of training style images, a pure function of a seed.

  Magenta's training (`augment_style_images`) changes brightness (up to
  +-0.8), saturation (x0.5-1.5) and hue (+-0.2), flips both ways and crops at
  a random zoom of up to about 1.8x (a 256-pixel crop of the image resized to
  258-456 pixels); it also resizes each batch of styles to a random size,
  which this port does not do (its styles have one size). The defaults here
  are smaller, so that a generated style stays recognisably itself: a
  random square crop of each image of side `1 / zoom` with zoom uniform in
  [1, `max_zoom`], resized back (bilinear) to the image size; independent
  left-right and up-down flips (probability 1/2 each); a hue shift uniform
  in +-`max_hue_delta` (a fraction of the colour circle), a saturation
  factor log-uniform in [1 / `max_saturation_factor`,
  `max_saturation_factor`] and a brightness offset uniform in
  +-`max_brightness_delta`; values are clipped to [0, 1]. Every image of a
  batch gets its own draws.

  Call with images [B, H, W, 3] in [0, 1] and a stateless seed [2]
  (int32/int64): the same seed gives the same images.
  """

  max_zoom: float = 1.3
  flip_left_right: bool = True
  flip_up_down: bool = True
  max_hue_delta: float = 0.05
  max_saturation_factor: float = 1.25
  max_brightness_delta: float = 0.1

  def __post_init__(self):
    if self.max_zoom < 1.0:
      raise ValueError(
        f"StyleAugmentation.max_zoom must be >= 1, got {self.max_zoom}."
      )
    if self.max_saturation_factor < 1.0:
      raise ValueError(
        "StyleAugmentation.max_saturation_factor must be >= 1, "
        f"got {self.max_saturation_factor}."
      )
    for name in ("max_hue_delta", "max_brightness_delta"):
      if not 0.0 <= getattr(self, name) <= 1.0:
        raise ValueError(
          f"StyleAugmentation.{name} must be in [0, 1], got "
          f"{getattr(self, name)}."
        )

  def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    images = tf.convert_to_tensor(images, tf.float32)
    seeds = tf.random.experimental.stateless_split(
      tf.cast(seed, tf.int64), num=6
    )
    batch = tf.shape(images)[0]
    uniform = lambda i, shape: tf.random.stateless_uniform(shape, seeds[i])
    # Crop and zoom: a box of side 1 / zoom at a random place, in the
    # normalized coordinates of tf.image.crop_and_resize.
    zoom = 1.0 + (self.max_zoom - 1.0) * uniform(0, [batch])
    side = 1.0 / zoom
    corner = uniform(1, [batch, 2]) * (1.0 - side)[:, tf.newaxis]
    boxes = tf.concat([corner, corner + side[:, tf.newaxis]], axis=1)
    images = tf.image.crop_and_resize(
      images, boxes, tf.range(batch), tf.shape(images)[1:3]
    )
    flips = uniform(2, [batch, 2]) < 0.5
    if self.flip_left_right:
      images = tf.where(
        flips[:, 0, None, None, None], tf.reverse(images, axis=[2]), images
      )
    if self.flip_up_down:
      images = tf.where(
        flips[:, 1, None, None, None], tf.reverse(images, axis=[1]), images
      )
    # Colour, per image: hue and saturation in HSV, brightness in RGB.
    hsv = tf.image.rgb_to_hsv(tf.clip_by_value(images, 0.0, 1.0))
    hue = (
      hsv[..., 0] + self.max_hue_delta * (2.0 * uniform(3, [batch, 1, 1]) - 1.0)
    ) % 1.0
    log_factor = tf.math.log(self.max_saturation_factor)
    saturation = hsv[..., 1] * tf.exp(
      log_factor * (2.0 * uniform(4, [batch, 1, 1]) - 1.0)
    )
    images = tf.image.hsv_to_rgb(
      tf.stack(
        [hue, tf.clip_by_value(saturation, 0.0, 1.0), hsv[..., 2]], axis=-1
      )
    )
    brightness = self.max_brightness_delta * (
      2.0 * uniform(5, [batch, 1, 1, 1]) - 1.0
    )
    return tf.clip_by_value(images + brightness, 0.0, 1.0)
