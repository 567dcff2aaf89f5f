"""The style-transfer model's hub module.

Users give raw weights of the conditioned losses only (content and style,
by default); the others take their default (`default_weights`: the fixed
total-variation weight), and the module checks them against the training
range and preprocesses them as in training.
"""

import dataclasses
from typing import Dict

import numpy as np
import tensorflow as tf

from yoto.architectures import style_transfer as networks
from yoto.export import base
from yoto.weights import contract


def default_weights(
  conditioning: contract.LossConditioning,
) -> Dict[str, float]:
  """Each loss's weight when the user does not give it.

  The geometric centre of its training range (the fixed total-variation
  weight of a YOTO model), or its fixed weight in a fixed-weight model.
  """
  if conditioning.ranges:
    return {
      k: float(np.sqrt(lo * hi)) for k, (lo, hi) in conditioning.ranges.items()
    }
  if conditioning.fixed_weights:
    return dict(conditioning.fixed_weights)
  return {k: 1.0 for k in conditioning.loss_names}


class StyleTransferExportModule(base.ExportModule):
  """What a style-transfer hub module offers.

  Images are float32 in [0, 1], [B, H, W, 3] of any size of at least
  `min_image_size`. `weights` are raw loss weights of the conditioned losses,
  shape [n] (one vector for the batch) or [B, n], in the order of
  metadata's `conditioned_losses` (by default content_loss, style_loss_1..4);
  the other losses take their fixed weight. They are checked against the
  training range (a fixed-weight model ignores them after checking that they
  are positive and of the right count).

  Signatures:
    stylize(content, style, weights) -> {stylized}; style is [1, h, w, 3]
        (used for every content image) or [B, h, w, 3].
    style_embedding(style) -> {embedding [B, E]}
    stylize_with_embedding(content, embedding, weights) -> {stylized};
        embedding [1, E] or [B, E]: sweep weights without re-embedding.
    stylize_with_inputs_extra(content, style, inputs_extra) -> {stylized}
        (YOTO models): inputs_extra [B, n_losses] preprocessed exactly as in
        training (log of all six weights in sorted loss order).
    metadata() -> {metadata: JSON string}
  `__call__` is `stylize` (inputs `[content, style, weights]`).
  """

  def __init__(self, problem, conditioning: contract.LossConditioning):
    """Exports a built `StyleTransferProblem` with its contract.

    The SavedModel holds the variables the signatures use, the frozen
    networks' included (the problem's checkpoints leave those out).
    """
    frozen = [
      v
      for network in problem.style_network.frozen_networks.values()
      for v in network.variables
    ]
    defaults = default_weights(conditioning)
    super().__init__(
      "yoto_style_transfer",
      problem,
      list(problem.stylization_network.variables)
      + list(problem.style_network.variables)
      + frozen,
      conditioning,
      {
        **_metadata(problem),
        "default_weights": defaults,
        "conditioned_ranges": {
          k: list(conditioning.ranges[k]) for k in problem.conditioned_losses
        }
        if conditioning.ranges
        else None,
      },
    )
    # The groups, under the names modules had before the base class.
    self.model_variables = list(problem.stylization_network.variables)
    self.style_network_variables = list(problem.style_network.variables)
    self.frozen_variables = frozen
    # Plain Python values (a dict attribute would become a tracked wrapper).
    self._default_values = tuple(
      float(defaults[n]) for n in conditioning.loss_names
    )
    image = lambda name: tf.TensorSpec([None, None, None, 3], tf.float32, name)
    weights = tf.TensorSpec(None, tf.float32, "weights")
    embedding = tf.TensorSpec(
      [None, problem.style_network.embedding_size], tf.float32, "embedding"
    )
    add = self.add_signature
    add(
      "stylize",
      self._stylize,
      image("content"),
      image("style"),
      weights,
      default=True,
    )
    add(
      "style_embedding",
      lambda style: {"embedding": self._embed(style)},
      image("style"),
    )
    add(
      "stylize_with_embedding",
      self._stylize_with_embedding,
      image("content"),
      embedding,
      weights,
    )
    if conditioning.is_conditioned:
      extra = tf.TensorSpec(
        [None, conditioning.num_losses], tf.float32, "inputs_extra"
      )
      add(
        "stylize_with_inputs_extra",
        self._stylize_with_inputs_extra,
        image("content"),
        image("style"),
        extra,
      )
    self.add_metadata_signature()

  def _check_images(self, images, what):
    shape = tf.shape(images)
    minimum = networks.MIN_IMAGE_SIZE
    return tf.debugging.Assert(
      tf.reduce_all(shape[1:3] >= minimum),
      [
        f"{what} images must be at least {minimum}x{minimum} pixels; got shape",
        shape,
      ],
    )

  def _embed(self, style):
    with tf.control_dependencies([self._check_images(style, "style")]):
      return self._problem.value.embed_styles(tf.identity(style))

  def _broadcast(self, tensor, batch, what):
    """[1, ...] or [batch, ...] -> [batch, ...], with a clear error."""
    rows = tf.shape(tensor)[0]
    check = tf.debugging.Assert(
      (rows == 1) | (rows == batch),
      [
        f"give one {what} for the whole batch or one per content image; got",
        rows,
        "for a batch of",
        batch,
      ],
    )
    with tf.control_dependencies([check]):
      return tf.broadcast_to(
        tensor, tf.concat([[batch], tf.shape(tensor)[1:]], 0)
      )

  def _inputs_extra(self, weights, batch):
    """Raw weights of the conditioned losses -> inputs_extra [B, n_losses]."""
    names = self._problem.value.conditioned_losses
    n = len(names)
    weights = tf.convert_to_tensor(weights, tf.float32)
    shape = tf.shape(weights)
    last = tf.concat([[-1], shape], 0)[-1]
    check = tf.debugging.Assert(
      (tf.size(shape) >= 1) & (tf.size(shape) <= 2) & (last == n),
      [
        f"weights must have shape [{n}] or [batch, {n}], one per conditioned "
        f"loss in the order [{', '.join(names)}]; got shape",
        shape,
      ],
    )
    with tf.control_dependencies([check]):
      rows = tf.reshape(weights, [-1, n])
    rows = self._broadcast(rows, batch, "weight vector")
    columns = []
    for name, default in zip(
      self._conditioning.loss_names, self._default_values
    ):
      if name in names:
        columns.append(rows[:, names.index(name)])
      else:
        columns.append(tf.fill([batch], default))
    full = tf.stack(columns, axis=1)
    return self._conditioning.weights_to_inputs_extra(
      full, check_range=self._conditioning.is_conditioned
    )

  def _stylize_with_embedding(self, content, embedding, weights):
    batch = tf.shape(content)[0]
    inputs_extra = self._inputs_extra(weights, batch)
    embedding = self._broadcast(embedding, batch, "style embedding")
    with tf.control_dependencies(
      [self._check_images(content, "content"), inputs_extra]
    ):
      content = tf.identity(content)
    if not self._conditioning.is_conditioned:
      inputs_extra = None
    return {
      "stylized": self._problem.value.stylize(content, embedding, inputs_extra)
    }

  def _stylize(self, content, style, weights):
    return self._stylize_with_embedding(content, self._embed(style), weights)

  def _stylize_with_inputs_extra(self, content, style, inputs_extra):
    batch = tf.shape(content)[0]
    embedding = self._broadcast(self._embed(style), batch, "style")
    with tf.control_dependencies([self._check_images(content, "content")]):
      content = tf.identity(content)
    return {
      "stylized": self._problem.value.stylize(content, embedding, inputs_extra)
    }


def _metadata(problem) -> Dict[str, object]:
  """The module's facts besides the contract's fields (added by the base)."""
  augmentation = problem.style_augmentation
  if dataclasses.is_dataclass(augmentation):
    augmentation = dataclasses.asdict(augmentation)
  elif augmentation is not None:
    augmentation = repr(augmentation)
  style_set = problem.style_set
  return {
    "problem": "StyleTransferProblem",
    "conditioned_losses": list(problem.conditioned_losses),
    "conditioning_input_offset": (
      None
      if problem.conditioning_input_offset is None
      else list(problem.conditioning_input_offset)
    ),
    "conditioning_input_scale": problem.conditioning_input_scale,
    "content_layer": problem.content_layer,
    "style_layers": list(problem.style_layers),
    "loss_network": problem.loss_network_metadata,
    "style_network": type(problem.style_network).__name__,
    "style_embedding_size": int(problem.style_network.embedding_size),
    "image_value_range": [0.0, 1.0],
    "training_image_shape": [
      int(d) if d is not None else None for d in problem.image_shape
    ],
    "min_image_size": networks.MIN_IMAGE_SIZE,
    "style_image_size": problem.style_image_size,
    "style_augmentation": augmentation,
    "styles": {
      "source": style_set.source,
      "names": list(style_set.names),
      "held_out": [n for n, h in zip(style_set.names, style_set.held_out) if h],
    },
  }
