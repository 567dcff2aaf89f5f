"""Style networks: a style image -> a style embedding [B, 100].

Following Ghiasi et al. (2017) and the YOTO paper (§4.3), a style network is
a feature extractor followed by a trainable linear bottleneck to a 100-d
embedding, which conditions the stylization network's normalizations.

- `InceptionV3StyleEncoder`: the paper's. Inception-v3 up to `mixed7`
  (Magenta's `Mixed_6e`), averaged over space; Magenta fine-tunes it
  (`fine_tune=True` here). It needs an Inception-v3 weights file.
- `LossNetworkStyleEncoder`: the offline default. A style is embedded by the
  channel means and standard deviations of the frozen loss network's four
  style layers (`channel_statistics`).

Both split into `frozen_features` (which a problem may compute once per style
image) and the trainable `call`; the frozen networks are not tracked (they
are rebuilt from their files) and are listed by `frozen_networks`.
"""

from typing import Mapping, Optional, Sequence

import tensorflow as tf

from yoto.architectures import vgg
from yoto.utils import untracked

STYLE_EMBEDDING_SIZE = 100


class LossNetworkStyleEncoder(tf.keras.layers.Layer):
  """The offline default style network: loss-network statistics -> 100-d.

  `frozen_features(style)` [B, F]: for each style layer of the frozen VGG-16,
  the spatial mean and standard deviation of every channel, as
  `log(1 + value)` (the raw values span four orders of magnitude);
  F = 2 * (64 + 128 + 256 + 512) = 1920 for the default layers. `call`
  applies the trainable linear bottleneck to `embedding_size`.

  With `centre_features`, `call` first subtracts the training styles' mean
  features and divides by their root-mean-square deviation (both set by
  `adapt`, saved with the model). The statistics of every image share a
  large common part (norm about 72 for the generated styles against about 22
  for what tells them apart), so uncentred, each style's embedding is mostly
  one constant vector and the network learns slowly to tell styles apart.
  """

  def __init__(
    self,
    loss_network: vgg.Vgg16Features,
    style_layers: Sequence[str] = (
      "block1_conv2",
      "block2_conv2",
      "block3_conv3",
      "block4_conv3",
    ),
    embedding_size: int = STYLE_EMBEDDING_SIZE,
    centre_features: bool = False,
    name: str = "style_network",
  ):
    super().__init__(name=name)
    self.centre_features = bool(centre_features)
    self.feature_mean = self.feature_scale = None
    if self.centre_features:
      # The identity until `adapt`; variables so that checkpoints and
      # exported modules carry them.
      self.feature_mean = tf.Variable(
        tf.zeros([2 * sum(vgg.layer_channels(n) for n in style_layers)]),
        trainable=False,
        name="feature_mean",
      )
      self.feature_scale = tf.Variable(
        1.0, trainable=False, name="feature_scale"
      )
    # Not tracked: the loss network is frozen, rebuilt from its file, and is
    # saved by whoever exports it (see yoto.problems.style_transfer).
    self._loss_network = untracked.Untracked(loss_network)
    self.style_layers = tuple(style_layers)
    self.embedding_size = embedding_size
    self.bottleneck = tf.keras.layers.Dense(
      embedding_size, name="style_bottleneck"
    )

  @property
  def frozen_networks(self) -> Mapping[str, tf.Module]:
    return {"loss_network": self._loss_network.value}

  @property
  def num_frozen_features(self) -> int:
    return 2 * sum(vgg.layer_channels(n) for n in self.style_layers)

  def frozen_features(
    self,
    style_images: tf.Tensor,
    loss_features: Optional[Mapping[str, tf.Tensor]] = None,
  ) -> tf.Tensor:
    """[B, h, w, 3] in [0, 1] -> [B, F].

    `loss_features`, the loss network's features of `style_images` by layer
    name when the caller has them already, saves a second pass.
    """
    if loss_features is None or not all(
      n in loss_features for n in self.style_layers
    ):
      loss_features = self._loss_network.value(style_images, self.style_layers)
    return channel_statistics([loss_features[n] for n in self.style_layers])

  def adapt(self, frozen_features: tf.Tensor) -> None:
    """Sets the centring from the training styles' features [S, F]; a no-op
    without `centre_features`."""
    if not self.centre_features:
      return
    mean = tf.reduce_mean(frozen_features, axis=0)
    deviation = tf.sqrt(tf.reduce_mean(tf.square(frozen_features - mean)))
    self.feature_mean.assign(mean)
    # One training style has no deviation: its centred features are 0.
    self.feature_scale.assign(tf.maximum(deviation, 1e-6))

  def call(
    self, frozen_features: tf.Tensor, training: Optional[bool] = None
  ) -> tf.Tensor:
    del training  # Nothing here depends on it.
    if self.centre_features:
      frozen_features = (
        frozen_features - self.feature_mean
      ) / self.feature_scale
    return self.bottleneck(frozen_features)


def channel_statistics(feature_maps: Sequence[tf.Tensor]) -> tf.Tensor:
  """log(1 + mean) and log(1 + std) of every channel over space, concatenated."""
  stats = []
  for features in feature_maps:
    mean, variance = tf.nn.moments(features, axes=[1, 2])
    stats += [
      tf.math.log1p(tf.nn.relu(mean)),
      tf.math.log1p(tf.sqrt(variance + 1e-6)),
    ]
  return tf.concat(stats, axis=-1)


class InceptionV3StyleEncoder(tf.keras.layers.Layer):
  """The paper's style network: Inception-v3 `mixed7`, spatial mean, 100-d.

  Needs the Keras Inception-v3 no-top weights file
  (`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`) given as
  `weights`; `weights=None` builds a randomly initialised network (all there
  is offline: meant for tests, or for `fine_tune=True` from scratch). Style
  images are resized to `image_size` (Inception needs at least 75 pixels).

  `fine_tune=False` (default): Inception is frozen (run once per style image
  by the problem, never saved: it is rebuilt from its file) and only the
  bottleneck is trained. `fine_tune=True`: as in Magenta, Inception is
  trained with the rest (its variables are in the checkpoints and its batch
  norms follow `training`); `frozen_features` then only resizes and scales
  the images, and `call` runs Inception on them, which makes every training
  step pay for an Inception pass of each example's style image.
  """

  def __init__(
    self,
    loss_network: Optional[vgg.Vgg16Features] = None,
    weights: Optional[str] = None,
    embedding_size: int = STYLE_EMBEDDING_SIZE,
    image_size: int = 256,
    fine_tune: bool = False,
    name: str = "style_network",
  ):
    super().__init__(name=name)
    del loss_network  # This style network does not use the loss network.
    if weights is not None and not tf.io.gfile.exists(weights):
      raise ValueError(
        f"Inception-v3 weights file {weights!r} does not exist; give the "
        "Keras no-top file (inception_v3_weights_tf_dim_ordering_tf_"
        "kernels_notop.h5) or use the offline default "
        "StyleTransferProblem.style_network = @LossNetworkStyleEncoder."
      )
    self.weights_path = weights
    self.image_size = int(image_size)
    self.fine_tune = bool(fine_tune)
    inception = tf.keras.applications.InceptionV3(
      include_top=False,
      weights=weights,
      input_shape=(self.image_size, self.image_size, 3),
    )
    features = tf.keras.Model(
      inception.input,
      inception.get_layer("mixed7").output,
      name="inception_v3_mixed7",
    )
    if self.fine_tune:
      self.inception = features  # Tracked: trained and checkpointed.
    else:
      features.trainable = False
      self._frozen_inception = untracked.Untracked(features)
    self.embedding_size = embedding_size
    self.bottleneck = tf.keras.layers.Dense(
      embedding_size, name="style_bottleneck"
    )

  @property
  def frozen_networks(self) -> Mapping[str, tf.Module]:
    if self.fine_tune:
      return {}
    return {"inception_v3": self._frozen_inception.value}

  @property
  def num_frozen_features(self) -> Optional[int]:
    """Size of a frozen feature vector; None when they are images."""
    return None if self.fine_tune else 768

  def _inputs(self, style_images):
    images = tf.image.resize(style_images, [self.image_size] * 2)
    return images * 2.0 - 1.0

  def frozen_features(
    self,
    style_images: tf.Tensor,
    loss_features: Optional[Mapping[str, tf.Tensor]] = None,
  ) -> tf.Tensor:
    """[B, h, w, 3] in [0, 1] -> [B, 768], or the Inception inputs
    [B, image_size, image_size, 3] in [-1, 1] when fine-tuning."""
    del loss_features  # Not used by this style network.
    if self.fine_tune:
      return self._inputs(style_images)
    features = self._frozen_inception.value(
      self._inputs(style_images), training=False
    )
    return tf.reduce_mean(features, axis=[1, 2])

  def call(
    self, frozen_features: tf.Tensor, training: Optional[bool] = None
  ) -> tf.Tensor:
    if self.fine_tune:
      frozen_features = tf.reduce_mean(
        self.inception(frozen_features, training=training), axis=[1, 2]
      )
    return self.bottleneck(frozen_features)
