"""The losses of style transfer: content, Gram-matrix style, total variation.

As in Magenta's arbitrary image stylization (Ghiasi et al. 2017), which the
YOTO paper (§4.3, appendix A.3) follows. With φ_l the activations of layer l
of a frozen loss network (VGG-16, `yoto.architectures.vgg`, whose inputs are
0-255 Caffe style; images here are in [0, 1]) and the Gram matrix
G(F) = FᵀF / (H·W) of a [H·W, C] feature map, the per-example losses of a
stylized image y of content x_c and style x_s are

  content_loss         = mean over (h, w, c) of (φ_c(y) - φ_c(x_c))²,
                         φ_c = block3_conv3
  style_loss_i         = mean over (c, c') of (G(φ_i(y)) - G(φ_i(x_s)))²,
                         φ_1..4 = block1_conv2, block2_conv2, block3_conv3,
                         block4_conv3
  total_variation_loss = ½ mean (y[h+1, w] - y[h, w])² +
                         ½ mean (y[h, w+1] - y[h, w])²

`per_example_losses` computes all of them from one loss-network pass over y;
the style targets G(φ_i(x_s)) are given, since a problem computes them once
per style image (`style_grams`).
"""

from typing import Dict, Mapping, Sequence, Tuple

import tensorflow as tf

from yoto.architectures import vgg

CONTENT_LOSS = "content_loss"
TOTAL_VARIATION_LOSS = "total_variation_loss"
DEFAULT_CONTENT_LAYER = "block3_conv3"
DEFAULT_STYLE_LAYERS = (
  "block1_conv2",
  "block2_conv2",
  "block3_conv3",
  "block4_conv3",
)


def style_loss_names(num_style_layers: int) -> Tuple[str, ...]:
  """'style_loss_1', ..., one per style layer."""
  return tuple(f"style_loss_{i}" for i in range(1, num_style_layers + 1))


def loss_names(num_style_layers: int) -> Tuple[str, ...]:
  """Content, the style losses and total variation, in that order."""
  return (
    (CONTENT_LOSS,)
    + style_loss_names(num_style_layers)
    + (TOTAL_VARIATION_LOSS,)
  )


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
  """G = FᵀF / (H·W) for features [B, H, W, C]; returns [B, C, C]."""
  shape = tf.shape(features)
  flat = tf.reshape(
    features, tf.stack([shape[0], shape[1] * shape[2], shape[3]])
  )
  return tf.matmul(flat, flat, transpose_a=True) / tf.cast(
    shape[1] * shape[2], features.dtype
  )


def content_loss(
  stylized_features: tf.Tensor, content_features: tf.Tensor
) -> tf.Tensor:
  """Mean squared feature difference per example: [B, H, W, C] -> [B]."""
  return tf.reduce_mean(
    tf.square(stylized_features - content_features), axis=[1, 2, 3]
  )


def style_loss(
  stylized_features: tf.Tensor, style_gram: tf.Tensor
) -> tf.Tensor:
  """Mean squared Gram difference per example.

  Args:
    stylized_features: [B, H, W, C].
    style_gram: [B, C, C], the style image's Gram matrix.

  Returns:
    [B].
  """
  return tf.reduce_mean(
    tf.square(gram_matrix(stylized_features) - style_gram), axis=[1, 2]
  )


def total_variation_loss(images: tf.Tensor) -> tf.Tensor:
  """½ mean squared vertical + ½ mean squared horizontal neighbour difference.

  Equals Magenta's `l2_loss(dy) / size(dy) + l2_loss(dx) / size(dx)` per
  example (l2_loss halves the sum of squares). [B, H, W, C] -> [B].
  """
  dy = images[:, 1:] - images[:, :-1]
  dx = images[:, :, 1:] - images[:, :, :-1]
  return 0.5 * (
    tf.reduce_mean(tf.square(dy), axis=[1, 2, 3])
    + tf.reduce_mean(tf.square(dx), axis=[1, 2, 3])
  )


def style_grams(
  loss_features: Mapping[str, tf.Tensor], style_layers: Sequence[str]
) -> Dict[str, tf.Tensor]:
  """{layer: Gram matrix [B, C, C]} of loss-network features by layer."""
  return {layer: gram_matrix(loss_features[layer]) for layer in style_layers}


def per_example_losses(
  loss_network: vgg.Vgg16Features,
  stylized: tf.Tensor,
  content: tf.Tensor,
  style_targets: Mapping[str, tf.Tensor],
  content_layer: str = DEFAULT_CONTENT_LAYER,
  style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
) -> Dict[str, tf.Tensor]:
  """Every loss of `loss_names(len(style_layers))`, each [B].

  Args:
    loss_network: the frozen feature extractor.
    stylized: [B, H, W, 3] in [0, 1], the images being trained.
    content: [B, H, W, 3] in [0, 1]; no gradient flows into it.
    style_targets: {style layer: [B, C, C]}, the style images' Gram matrices.
    content_layer: the content loss's layer.
    style_layers: the style losses' layers, one loss each, in order.
  """
  stylized_features = loss_network(
    stylized, (content_layer,) + tuple(style_layers)
  )
  content_features = tf.stop_gradient(
    loss_network(content, (content_layer,))[content_layer]
  )
  losses = {
    CONTENT_LOSS: content_loss(
      stylized_features[content_layer], content_features
    ),
    TOTAL_VARIATION_LOSS: total_variation_loss(stylized),
  }
  for name, layer in zip(style_loss_names(len(style_layers)), style_layers):
    losses[name] = style_loss(stylized_features[layer], style_targets[layer])
  return losses
