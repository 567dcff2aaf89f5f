"""Networks for adjustable fast style transfer (paper §4.3 and appendix A.3).

Following Ghiasi et al. (2017), "Exploring the structure of a real-time,
arbitrary neural artistic stylization network", and Magenta's arbitrary image
stylization code, as the YOTO paper does ("the exact same network
architecture"):

- `StylizationNetwork` (Magenta's "transformer"): a contraction of a 9x9 conv
  (32), two stride-2 3x3 convs (64, 128), each followed by ordinary batch
  normalization (a learnt offset, no scale, as slim's default) and a ReLU,
  and *not* conditioned on anything; five residual blocks of two 3x3 convs
  (128); two upsampling steps (nearest-neighbour resize, then a 3x3 conv: 64,
  32); and a 9x9 conv to 3 channels followed by a sigmoid. The 13 convs after
  the contraction (the residual ones, the upsampling ones and the last one)
  are followed by conditional instance normalization
  (`ConditionalInstanceNorm`), which is where the style (and here the loss
  weights) enter. Convolutions pad by reflection and have no bias (every one
  is followed by a normalization that would remove it). `width_multiplier`
  scales every channel count (but the 3 output channels) so that a small
  version trains on a CPU.
- Batch normalization uses the batch's statistics in training
  (`training=True`, which the problem passes in its training step) and its
  moving averages otherwise (evaluation, image summaries, exported modules).
- The conditioning of the YOTO paper (unchanged): the log loss weights go
  through an MLP (one hidden layer of 512, ReLU) and are concatenated with the
  style embedding; every conditionally normalized layer has its own MLP (one
  hidden layer of 256, ReLU) followed by two affine maps giving the
  per-channel scale and shift. Without loss weights (a fixed-weight model)
  the style embedding alone conditions the layers and, as in Ghiasi et al.,
  each layer maps it *linearly* to its scales and shifts
  (`style_only_hidden_size=0`; see `StylizationNetwork`).
- The style embedding comes from a style network
  (`yoto.architectures.style_encoders`); the building blocks
  (`ConditionalInstanceNorm`, `ReflectConv`) are in
  `yoto.architectures.stylization_layers`.

The networks declare their conditioning variables (`conditioning_variables`:
the normalizations' MLPs and the loss-weight embedding), see
`yoto.architectures.conditioning.split_conditioning_variables`.

Deviations from Ghiasi et al. / Magenta:
- the conditional normalizations' scales are `1 + raw` (see
  `stylization_layers`); the YOTO model's per-layer MLPs are the paper's
  appendix A.3;
- batch normalization's moving averages decay by 0.99 per step, not slim's
  0.999: the CPU runs here last hundreds of steps, and after 800 steps at
  0.999 the initial (0, 1) statistics would still weigh 45 %;
- a flat map normalizes to zero, and the embedded configs set the
  conditional instance norms' epsilon to 1e-3, not 1e-5
  (`stylization_layers`): one (nearly) flat content crop made the
  gradients overflow;
- optional (`content_skip`, off by default): the network adds its output to
  the content's logits instead of drawing the image from scratch, with a
  learnt per-channel gain that starts at zero, so that a network trained
  for minutes on a CPU keeps the photo at high content weights (trials in
  docs/style_transfer_tuning.md; on in the embedded photo_patches configs);
- channel counts are rounded (`scaled_channels`) where Magenta truncates
  `int(alpha * c)`; the upsampling restores the exact size of the matching
  contraction level, so any input of at least `MIN_IMAGE_SIZE` pixels keeps
  its size; Magenta initialises the convs with N(0, 0.01), here Keras'
  default Glorot uniform.
"""

import math
from typing import List, Optional, Tuple

import tensorflow as tf

from yoto.architectures import conditioning
from yoto.architectures import stylization_layers

# Reflection padding of the 3x3 convs at 1/4 resolution needs 2 pixels there.
MIN_IMAGE_SIZE = 8
# Channels of the stylization network at width multiplier 1 (Ghiasi et al.).
BASE_CHANNELS = (32, 64, 128)
# slim.batch_norm's epsilon, which Magenta's contraction uses.
BATCH_NORM_EPSILON = 1e-3
# With `content_skip`, content values are clipped to [eps, 1 - eps] before
# their logit, so that black and white pixels have finite logits (±6.9).
CONTENT_LOGIT_EPSILON = 1e-3


def scaled_channels(width_multiplier: float) -> Tuple[int, int, int]:
  """The three channel counts at `width_multiplier` (at least 1 each)."""
  return tuple(max(1, int(round(c * width_multiplier))) for c in BASE_CHANNELS)


class StylizationNetwork(tf.keras.layers.Layer):
  """Ghiasi et al.'s stylization network with YOTO loss-weight conditioning.

  Call with `content` [B, H, W, 3] in [0, 1], `style_embedding` [B, E],
  `loss_weights` [B, n] (the preprocessed weights of the conditioned losses,
  or None for a fixed-weight model) and `training` (batch statistics in the
  contraction's batch norm, and their moving averages updated); returns the
  stylized image [B, H, W, 3] in (0, 1). The conditional normalizations are
  made on the first call, which fixes whether the network is conditioned on
  loss weights.
  """

  def __init__(
    self,
    width_multiplier: float = 1.0,
    num_residual_blocks: int = 5,
    conditioning_hidden_size: int = 256,
    style_only_hidden_size: int = 0,
    loss_weights_hidden_size: int = 512,
    loss_weights_embedding_size: int = 100,
    conditioning_postprocessing: Optional[
      conditioning.ConditioningPostprocessing
    ] = None,
    batch_norm_momentum: float = 0.99,
    content_skip: bool = False,
    content_skip_initial_gain: float = 0.0,
    instance_norm_epsilon: float = stylization_layers.DEFAULT_EPSILON,
    name: str = "stylization_network",
  ):
    """Creates the layers (variables are made on the first call).

    Args:
      width_multiplier: scales the channels 32, 64, 128.
      num_residual_blocks: 5 in Ghiasi et al.
      conditioning_hidden_size: hidden units of each normalization's MLP when
        the network sees loss weights (256 in the YOTO paper, appendix A.3).
      style_only_hidden_size: the same when it sees the style alone (a
        fixed-weight model). 0 (default): each layer maps the style embedding
        linearly to its scales and shifts, as Ghiasi et al., so that the
        fixed-weight baselines are their network. The YOTO model needs the
        MLP, because the loss weights act on the scales and shifts through it
        (jointly with the style), not additively; 256 here gives a
        fixed-weight twin with the YOTO model's per-layer MLPs (the baseline
        of earlier versions of this port).
      loss_weights_hidden_size: hidden units of the loss-weight MLP (512).
      loss_weights_embedding_size: its output size, concatenated with the
        style embedding (the paper leaves it unsaid; 100, the style
        embedding's size).
      conditioning_postprocessing: maps raw (scales, shifts); default
        `scales = 1 + raw`.
      batch_norm_momentum: decay of the contraction's batch-norm moving
        averages (slim's 0.999 suits 2M steps; 0.99 settles within a few
        hundred).
      content_skip: return sigmoid(logit(content) + g * h), h the last
        conditional normalization's output [B, H, W, 3] and g [3] a learnt
        gain starting at 0 (as in ReZero), instead of Ghiasi et al.'s
        sigmoid(h): the untrained network returns the content and learns
        what to change. Off by default (Ghiasi et al.'s network).
      content_skip_initial_gain: g's starting value. 0 (ReZero) returns the
        content at step 0 and gives the layers below g no gradient until g
        moves; at weights where the content is nearly optimal g then stays
        small and the network barely learns. A non-zero start makes the
        network stylize from the first step.
      instance_norm_epsilon: the conditional instance norms' epsilon.
        1e-5 (default) is Magenta's; `stylization_layers.ROBUST_EPSILON`
        (1e-3, the embedded configs') keeps the gradient of a nearly flat
        content crop bounded, where 1e-5 let one such crop make gradients of
        2.5e22. Changing it changes a trained model's losses by up to 2 %.
      name: layer name.
    """
    super().__init__(name=name)
    if width_multiplier <= 0:
      raise ValueError(
        "StylizationNetwork.width_multiplier must be positive, "
        f"got {width_multiplier}."
      )
    if not 0.0 <= batch_norm_momentum < 1.0:
      raise ValueError(
        "StylizationNetwork.batch_norm_momentum must be in "
        f"[0, 1), got {batch_norm_momentum}."
      )
    self.width_multiplier = float(width_multiplier)
    self.channels = scaled_channels(width_multiplier)
    c1, c2, c3 = self.channels
    self.num_residual_blocks = int(num_residual_blocks)
    self.conditioning_hidden_size = int(conditioning_hidden_size)
    self.style_only_hidden_size = int(style_only_hidden_size)
    self.loss_weights_hidden_size = loss_weights_hidden_size
    self.loss_weights_embedding_size = loss_weights_embedding_size
    self.conditioning_postprocessing = conditioning_postprocessing
    self.content_skip = bool(content_skip)
    if not math.isfinite(float(content_skip_initial_gain)):
      raise ValueError(
        "StylizationNetwork.content_skip_initial_gain must be a finite "
        f"number, got {content_skip_initial_gain!r}; 0 starts at the "
        "content (ReZero)."
      )
    self.content_skip_initial_gain = float(content_skip_initial_gain)
    self.content_skip_gain = None
    self.instance_norm_epsilon = stylization_layers.checked_epsilon(
      instance_norm_epsilon, "StylizationNetwork.instance_norm_epsilon"
    )

    def batch_norm(conv_name):
      # slim.batch_norm's defaults: a learnt offset, no scale.
      return tf.keras.layers.BatchNormalization(
        center=True,
        scale=False,
        momentum=batch_norm_momentum,
        epsilon=BATCH_NORM_EPSILON,
        name=f"{conv_name}_batch_norm",
      )

    conv = stylization_layers.ReflectConv
    self.contraction = [
      (conv(c1, 9, name="conv1"), batch_norm("conv1")),
      (conv(c2, 3, 2, name="conv2"), batch_norm("conv2")),
      (conv(c3, 3, 2, name="conv3"), batch_norm("conv3")),
    ]
    self.residual = [
      (
        conv(c3, 3, name=f"residual{i}_conv1"),
        conv(c3, 3, name=f"residual{i}_conv2"),
      )
      for i in range(1, self.num_residual_blocks + 1)
    ]
    self.upsampling = [
      conv(c2, 3, name="upsample1"),
      conv(c1, 3, name="upsample2"),
    ]
    self.output_conv = conv(3, 9, name="output")
    # Made on the first call (their MLP depends on whether loss weights come).
    self.conditioned_norms = None
    self.loss_weights_mlp = None
    self.sees_loss_weights = None

  def build(self, input_shape):
    if self.content_skip:
      self.content_skip_gain = self.add_weight(
        name="content_skip_gain",
        shape=[3],
        initializer=tf.keras.initializers.Constant(
          self.content_skip_initial_gain
        ),
      )
    super().build(input_shape)

  @property
  def conditioned_conv_names(self) -> List[str]:
    """The convs followed by conditional instance norm, in order."""
    names = []
    for i in range(1, self.num_residual_blocks + 1):
      names += [f"residual{i}_conv1", f"residual{i}_conv2"]
    return names + ["upsample1", "upsample2", "output"]

  @property
  def conditioning_variables(self) -> List[tf.Variable]:
    """The normalizations' MLPs and the loss-weight embedding MLP."""
    variables = [
      v for n in self.normalization_layers for v in n.conditioning_variables
    ]
    if self.loss_weights_mlp is not None:
      variables += self.loss_weights_mlp.trainable_variables
    return variables

  @property
  def normalization_layers(
    self,
  ) -> List[stylization_layers.ConditionalInstanceNorm]:
    if self.conditioned_norms is None:
      raise ValueError(
        "The StylizationNetwork makes its normalizations on "
        "its first call; call it once first."
      )
    return list(self.conditioned_norms)

  def _make_norms(self, sees_loss_weights: bool):
    hidden = (
      self.conditioning_hidden_size
      if sees_loss_weights
      else self.style_only_hidden_size
    )
    self.sees_loss_weights = sees_loss_weights
    self.conditioned_norms = [
      stylization_layers.ConditionalInstanceNorm(
        hidden,
        self.conditioning_postprocessing,
        epsilon=self.instance_norm_epsilon,
        name=f"{conv}_norm_conditioning",
      )
      for conv in self.conditioned_conv_names
    ]
    if sees_loss_weights:
      self.loss_weights_mlp = tf.keras.Sequential(
        [
          tf.keras.layers.Dense(
            self.loss_weights_hidden_size,
            activation="relu",
            name="loss_weights_conditioning_hidden",
          ),
          tf.keras.layers.Dense(
            self.loss_weights_embedding_size,
            name="loss_weights_conditioning_output",
          ),
        ],
        name="loss_weights_conditioning",
      )

  def _conditioning(self, style_embedding, loss_weights):
    """The vector every normalization reads: [B, E (+ loss embedding)]."""
    sees_loss_weights = loss_weights is not None
    if self.conditioned_norms is None:
      self._make_norms(sees_loss_weights)
    elif sees_loss_weights != self.sees_loss_weights:
      raise ValueError(
        "This StylizationNetwork was built "
        f"{'with' if self.sees_loss_weights else 'without'} loss weights "
        "(a YOTO model is always called with them, a fixed-weight model "
        "never); got "
        f"{'some' if sees_loss_weights else 'none'}."
      )
    if not sees_loss_weights:
      return style_embedding
    embedded = self.loss_weights_mlp(tf.cast(loss_weights, tf.float32))
    return tf.concat([embedded, style_embedding], axis=-1)

  def call(
    self,
    content: tf.Tensor,
    style_embedding: tf.Tensor,
    loss_weights: Optional[tf.Tensor] = None,
    training: Optional[bool] = None,
  ) -> tf.Tensor:
    if content.shape.rank != 4 or content.shape[-1] != 3:
      raise ValueError(
        "StylizationNetwork expects content images "
        f"[B, H, W, 3], got shape {content.shape}."
      )
    cond = self._conditioning(style_embedding, loss_weights)
    norms = iter(self.conditioned_norms)
    x = content
    sizes = []
    for conv, batch_norm in self.contraction:
      sizes.append(tf.shape(x)[1:3])
      x = tf.nn.relu(batch_norm(conv(x), training=training))
    for conv1, conv2 in self.residual:
      y = tf.nn.relu(next(norms)(conv1(x), cond))
      x = x + next(norms)(conv2(y), cond)
    for conv, size in zip(self.upsampling, (sizes[1], sizes[0])):
      x = tf.image.resize(x, size, method="nearest")
      x = tf.nn.relu(next(norms)(conv(x), cond))
    stylization = next(norms)(self.output_conv(x), cond)
    if not self.content_skip:
      return tf.nn.sigmoid(stylization)
    return tf.nn.sigmoid(_logit(content) + self.content_skip_gain * stylization)


def _logit(images: tf.Tensor) -> tf.Tensor:
  """log(p / (1 - p)) of images in [0, 1], clipped to finite values."""
  p = tf.clip_by_value(
    tf.cast(images, tf.float32),
    CONTENT_LOGIT_EPSILON,
    1.0 - CONTENT_LOGIT_EPSILON,
  )
  return tf.math.log(p) - tf.math.log1p(-p)


def trunk_parameter_count(
  width_multiplier: float,
  num_residual_blocks: int = 5,
  content_skip: bool = False,
) -> int:
  """Trainable parameters outside the conditioning, by hand.

  The conv kernels (no conv has a bias), the contraction's batch-norm
  offsets and, with `content_skip`, its 3 gains; the batch norms' moving
  means and variances (2 * (c1 + c2 + c3)) are not trainable and not
  counted.
  """
  c1, c2, c3 = scaled_channels(width_multiplier)
  return (
    9 * 9 * 3 * c1
    + 3 * 3 * c1 * c2
    + 3 * 3 * c2 * c3
    + (c1 + c2 + c3)
    + 2 * num_residual_blocks * 3 * 3 * c3 * c3
    + 3 * 3 * c3 * c2
    + 3 * 3 * c2 * c1
    + 9 * 9 * c1 * 3
    + (3 if content_skip else 0)
  )
