"""Networks for adjustable fast style transfer (paper §4.3 and appendix A.3).

Following Ghiasi et al. (2017), "Exploring the structure of a real-time,
arbitrary neural artistic stylization network", as the YOTO paper does:

- `StylizationNetwork` (the "transformer" of Magenta's arbitrary image
  stylization): a 9x9 conv (32), two stride-2 3x3 convs (64, 128), five
  residual blocks of two 3x3 convs (128), two upsampling steps (nearest
  neighbour resize, then a 3x3 conv: 64, 32) and a 9x9 conv to 3 channels with
  a sigmoid. Every conv except the last is followed by conditional instance
  normalization (`ConditionalInstanceNorm`). Convolutions pad by reflection;
  the convs followed by a normalization have no bias (it would be removed by
  the mean subtraction). `width_multiplier` scales every channel count so
  that a small version trains on a CPU.
- The conditioning of the YOTO paper: the log loss weights go through an MLP
  (one hidden layer of 512, ReLU) and are concatenated with the style
  embedding; every normalized layer has its own MLP (one hidden layer of 256,
  ReLU) followed by two affine maps giving the per-channel scale and shift.
  Without loss weights (a fixed-weight model) the style embedding alone
  conditions the layers, as in Ghiasi et al.
- Style networks (`LossNetworkStyleEncoder`, `InceptionV3StyleEncoder`): a
  frozen feature extractor and a trainable linear bottleneck to a 100-d
  embedding. The paper uses Inception-v3 up to `mixed7`, averaged over space;
  that needs an Inception-v3 weights file. The offline default embeds a style
  by the channel means and standard deviations of the frozen loss network's
  four style layers. Both split into `frozen_features` (which a problem may
  compute once per style image) and the trainable `call`.

The networks declare their conditioning variables (`conditioning_variables`:
the normalizations' MLPs and the loss-weight embedding), see
`yoto.architectures.conditioning.split_conditioning_variables`.

Deviations from Ghiasi et al.: the last conv has no normalization (the issue
that specifies this port, and the paper's text, say "every conv except the
last"); the upsampling restores the exact size of the matching encoder level,
so any input of at least `MIN_IMAGE_SIZE` pixels keeps its size.
"""

from typing import List, Mapping, Optional, Sequence, Tuple

import tensorflow as tf

from yoto.architectures import conditioning
from yoto.architectures import vgg
from yoto.utils import untracked

# Reflection padding of the 3x3 convs at 1/4 resolution needs 2 pixels there.
MIN_IMAGE_SIZE = 8
# Channels of the stylization network at width multiplier 1 (Ghiasi et al.).
BASE_CHANNELS = (32, 64, 128)
STYLE_EMBEDDING_SIZE = 100


def scaled_channels(width_multiplier: float) -> Tuple[int, int, int]:
  """The three channel counts at `width_multiplier` (at least 1 each)."""
  return tuple(max(1, int(round(c * width_multiplier))) for c in BASE_CHANNELS)


def _default_affine_initializer():
  # Small initial scales and shifts: the normalization starts near the
  # identity (scale 1 + O(0.01), shift O(0.01)).
  return tf.keras.initializers.VarianceScaling(scale=1e-4, mode='fan_in')


class ConditionalInstanceNorm(tf.keras.layers.Layer):
  """Instance normalization with a per-example scale and shift.

  `features` [B, H, W, C] are normalized per example and channel over space;
  `conditioning` [B, D] goes through an MLP (one hidden ReLU layer) and two
  affine maps to `scales` and `shifts` [B, C], post-processed (by default
  `scales = 1 + raw`, `shifts = raw`), which give
  `scales * normalized + shifts`.
  """

  def __init__(self, hidden_size: int = 256,
               postprocessing: Optional[
                   conditioning.ConditioningPostprocessing] = None,
               epsilon: float = 1e-5,
               name: str = 'instance_norm_conditioning', **kwargs):
    super().__init__(name=name, **kwargs)
    self.hidden_size = int(hidden_size)
    self.postprocessing = postprocessing or \
        conditioning.ConditioningPostprocessing(scales_add=1.0)
    self.epsilon = epsilon
    self.hidden = tf.keras.layers.Dense(
        self.hidden_size, activation='relu', name=f'{name}_hidden')
    self.scales = None
    self.shifts = None

  @property
  def conditioning_variables(self) -> List[tf.Variable]:
    """All of the layer's trainable variables: its MLP."""
    return list(self.trainable_variables)

  def build(self, features_shape):
    channels = tf.TensorShape(features_shape)[-1]
    self.scales = tf.keras.layers.Dense(
        channels, kernel_initializer=_default_affine_initializer(),
        name=f'{self.name}_scales')
    self.shifts = tf.keras.layers.Dense(
        channels, kernel_initializer=_default_affine_initializer(),
        name=f'{self.name}_shifts')
    super().build(features_shape)

  def scales_and_shifts(self, conditioning_inputs: tf.Tensor
                        ) -> Tuple[tf.Tensor, tf.Tensor]:
    """Post-processed (scales, shifts), each [B, C], for [B, D] inputs."""
    hidden = self.hidden(conditioning_inputs)
    return self.postprocessing(self.scales(hidden), self.shifts(hidden))

  def call(self, features: tf.Tensor,
           conditioning_inputs: tf.Tensor) -> tf.Tensor:
    mean, variance = tf.nn.moments(features, axes=[1, 2], keepdims=True)
    normalized = (features - mean) * tf.math.rsqrt(variance + self.epsilon)
    scales, shifts = self.scales_and_shifts(conditioning_inputs)
    return (scales[:, tf.newaxis, tf.newaxis, :] * normalized +
            shifts[:, tf.newaxis, tf.newaxis, :])


class ReflectConv(tf.keras.layers.Layer):
  """A 'same'-size conv that pads by reflection, as Magenta's transformer."""

  def __init__(self, filters: int, kernel_size: int, strides: int = 1,
               use_bias: bool = False, name: Optional[str] = None):
    super().__init__(name=name)
    self.pad = kernel_size // 2
    self.conv = tf.keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding='valid',
        use_bias=use_bias, name=f'{name}_conv' if name else None)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    p = self.pad
    return self.conv(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], 'REFLECT'))


class StylizationNetwork(tf.keras.layers.Layer):
  """Ghiasi et al.'s stylization network with YOTO loss-weight conditioning.

  Call with `content` [B, H, W, 3] in [0, 1], `style_embedding` [B, E] and
  `loss_weights` [B, n] (the preprocessed weights of the conditioned losses,
  or None for a fixed-weight model); returns the stylized image
  [B, H, W, 3] in (0, 1).
  """

  def __init__(self, width_multiplier: float = 1.0,
               num_residual_blocks: int = 5,
               conditioning_hidden_size: int = 256,
               loss_weights_hidden_size: int = 512,
               loss_weights_embedding_size: int = 100,
               conditioning_postprocessing: Optional[
                   conditioning.ConditioningPostprocessing] = None,
               name: str = 'stylization_network'):
    """Creates the layers (variables are made on the first call).

    Args:
      width_multiplier: scales the channels 32, 64, 128.
      num_residual_blocks: 5 in Ghiasi et al.
      conditioning_hidden_size: hidden units of each normalization's MLP
        (256 in the paper).
      loss_weights_hidden_size: hidden units of the loss-weight MLP (512).
      loss_weights_embedding_size: its output size, concatenated with the
        style embedding (the paper leaves it unsaid; 100, the style
        embedding's size).
      conditioning_postprocessing: maps raw (scales, shifts); default
        `scales = 1 + raw`.
      name: layer name.
    """
    super().__init__(name=name)
    if width_multiplier <= 0:
      raise ValueError('StylizationNetwork.width_multiplier must be positive, '
                       f'got {width_multiplier}.')
    self.width_multiplier = float(width_multiplier)
    self.channels = scaled_channels(width_multiplier)
    c1, c2, c3 = self.channels
    self.loss_weights_hidden_size = loss_weights_hidden_size
    self.loss_weights_embedding_size = loss_weights_embedding_size
    self._norm_index = 0

    def norm():
      self._norm_index += 1
      return ConditionalInstanceNorm(
          conditioning_hidden_size, conditioning_postprocessing,
          name=f'norm_{self._norm_index}_conditioning')

    self.down = [(ReflectConv(c1, 9, name='conv1'), norm()),
                 (ReflectConv(c2, 3, 2, name='conv2'), norm()),
                 (ReflectConv(c3, 3, 2, name='conv3'), norm())]
    self.residual = [
        (ReflectConv(c3, 3, name=f'residual{i}_conv1'), norm(),
         ReflectConv(c3, 3, name=f'residual{i}_conv2'), norm())
        for i in range(1, num_residual_blocks + 1)]
    self.up = [(ReflectConv(c2, 3, name='upsample1'), norm()),
               (ReflectConv(c1, 3, name='upsample2'), norm())]
    self.output_conv = ReflectConv(3, 9, use_bias=True, name='output')
    self.loss_weights_mlp = None

  @property
  def conditioning_variables(self) -> List[tf.Variable]:
    """The normalizations' MLPs and the loss-weight embedding MLP."""
    variables = [v for n in self.normalization_layers
                 for v in n.conditioning_variables]
    if self.loss_weights_mlp is not None:
      variables += self.loss_weights_mlp.trainable_variables
    return variables

  @property
  def normalization_layers(self) -> List[ConditionalInstanceNorm]:
    layers = [n for _, n in self.down]
    for _, n1, _, n2 in self.residual:
      layers += [n1, n2]
    return layers + [n for _, n in self.up]

  def _conditioning(self, style_embedding, loss_weights):
    """The vector every normalization reads: [B, E (+ loss embedding)]."""
    if loss_weights is None:
      return style_embedding
    if self.loss_weights_mlp is None:
      self.loss_weights_mlp = tf.keras.Sequential([
          tf.keras.layers.Dense(self.loss_weights_hidden_size,
                                activation='relu',
                                name='loss_weights_conditioning_hidden'),
          tf.keras.layers.Dense(self.loss_weights_embedding_size,
                                name='loss_weights_conditioning_output'),
      ], name='loss_weights_conditioning')
    embedded = self.loss_weights_mlp(tf.cast(loss_weights, tf.float32))
    return tf.concat([embedded, style_embedding], axis=-1)

  def call(self, content: tf.Tensor, style_embedding: tf.Tensor,
           loss_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
    if content.shape.rank != 4 or content.shape[-1] != 3:
      raise ValueError('StylizationNetwork expects content images '
                       f'[B, H, W, 3], got shape {content.shape}.')
    cond = self._conditioning(style_embedding, loss_weights)
    x = content
    sizes = []
    for conv, norm in self.down:
      sizes.append(tf.shape(x)[1:3])
      x = tf.nn.relu(norm(conv(x), cond))
    for conv1, norm1, conv2, norm2 in self.residual:
      y = tf.nn.relu(norm1(conv1(x), cond))
      x = x + norm2(conv2(y), cond)
    for (conv, norm), size in zip(self.up, (sizes[1], sizes[0])):
      x = tf.image.resize(x, size, method='nearest')
      x = tf.nn.relu(norm(conv(x), cond))
    return tf.nn.sigmoid(self.output_conv(x))


def trunk_parameter_count(width_multiplier: float,
                          num_residual_blocks: int = 5) -> int:
  """Parameters of the convolutions alone (no conditioning), by hand."""
  c1, c2, c3 = scaled_channels(width_multiplier)
  return (9 * 9 * 3 * c1 + 3 * 3 * c1 * c2 + 3 * 3 * c2 * c3 +
          2 * num_residual_blocks * 3 * 3 * c3 * c3 +
          3 * 3 * c3 * c2 + 3 * 3 * c2 * c1 + 9 * 9 * c1 * 3 + 3)


class LossNetworkStyleEncoder(tf.keras.layers.Layer):
  """The offline default style network: loss-network statistics -> 100-d.

  `frozen_features(style)` [B, F]: for each style layer of the frozen VGG-16,
  the spatial mean and standard deviation of every channel, as
  `log(1 + value)` (the raw values span four orders of magnitude);
  F = 2 * (64 + 128 + 256 + 512) = 1920 for the default layers. `call`
  applies the trainable linear bottleneck to `embedding_size`.
  """

  def __init__(self, loss_network: vgg.Vgg16Features,
               style_layers: Sequence[str] = ('block1_conv2', 'block2_conv2',
                                              'block3_conv3', 'block4_conv3'),
               embedding_size: int = STYLE_EMBEDDING_SIZE,
               name: str = 'style_network'):
    super().__init__(name=name)
    # Not tracked: the loss network is frozen, rebuilt from its file, and is
    # saved by whoever exports it (see yoto.problems.style_transfer).
    self._loss_network = untracked.Untracked(loss_network)
    self.style_layers = tuple(style_layers)
    self.embedding_size = embedding_size
    self.bottleneck = tf.keras.layers.Dense(embedding_size,
                                            name='style_bottleneck')

  @property
  def frozen_networks(self) -> Mapping[str, tf.Module]:
    return {'loss_network': self._loss_network.value}

  @property
  def num_frozen_features(self) -> int:
    return 2 * sum(vgg.layer_channels(n) for n in self.style_layers)

  def frozen_features(self, style_images: tf.Tensor) -> tf.Tensor:
    """[B, h, w, 3] in [0, 1] -> [B, F]."""
    features = self._loss_network.value(style_images, self.style_layers)
    return channel_statistics([features[n] for n in self.style_layers])

  def call(self, frozen_features: tf.Tensor) -> tf.Tensor:
    return self.bottleneck(frozen_features)


def channel_statistics(feature_maps: Sequence[tf.Tensor]) -> tf.Tensor:
  """log(1 + mean) and log(1 + std) of every channel over space, concatenated.
  """
  stats = []
  for features in feature_maps:
    mean, variance = tf.nn.moments(features, axes=[1, 2])
    stats += [tf.math.log1p(tf.nn.relu(mean)),
              tf.math.log1p(tf.sqrt(variance + 1e-6))]
  return tf.concat(stats, axis=-1)


class InceptionV3StyleEncoder(tf.keras.layers.Layer):
  """The paper's style network: Inception-v3 `mixed7`, spatial mean, 100-d.

  Needs the Keras Inception-v3 no-top weights file
  (`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`) given as
  `weights`; `weights=None` builds a random network (for tests only). The
  Inception part is frozen; the bottleneck is trained. Style images are
  resized to `image_size` (Inception needs at least 75 pixels).
  """

  def __init__(self, loss_network: Optional[vgg.Vgg16Features] = None,
               weights: Optional[str] = None,
               embedding_size: int = STYLE_EMBEDDING_SIZE,
               image_size: int = 256, name: str = 'style_network'):
    super().__init__(name=name)
    del loss_network  # This style network does not use the loss network.
    if weights is not None and not tf.io.gfile.exists(weights):
      raise ValueError(
          f'Inception-v3 weights file {weights!r} does not exist; give the '
          'Keras no-top file (inception_v3_weights_tf_dim_ordering_tf_'
          'kernels_notop.h5) or use the offline default '
          'StyleTransferProblem.style_network = @LossNetworkStyleEncoder.')
    self.weights_path = weights
    self.image_size = int(image_size)
    inception = tf.keras.applications.InceptionV3(
        include_top=False, weights=weights,
        input_shape=(self.image_size, self.image_size, 3))
    inception.trainable = False
    features = tf.keras.Model(inception.input,
                              inception.get_layer('mixed7').output,
                              name='inception_v3_mixed7')
    self._inception = untracked.Untracked(features)
    self.embedding_size = embedding_size
    self.bottleneck = tf.keras.layers.Dense(embedding_size,
                                            name='style_bottleneck')

  @property
  def frozen_networks(self) -> Mapping[str, tf.Module]:
    return {'inception_v3': self._inception.value}

  @property
  def num_frozen_features(self) -> int:
    return 768

  def frozen_features(self, style_images: tf.Tensor) -> tf.Tensor:
    """[B, h, w, 3] in [0, 1] -> [B, 768]."""
    images = tf.image.resize(style_images, [self.image_size] * 2)
    features = self._inception.value(images * 2.0 - 1.0, training=False)
    return tf.reduce_mean(features, axis=[1, 2])

  def call(self, frozen_features: tf.Tensor) -> tf.Tensor:
    return self.bottleneck(frozen_features)
