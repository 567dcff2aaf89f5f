"""The style-transfer module's client: stylize at any loss weights.

The weights are raw loss weights: the content weight (content_loss) and one
style weight per style layer (style_loss_1, ...); on the command line they
are `content_weight` and `style_weight_<i>` (`weight_name`). Weights left
out take their default (the centre of the training range, or the fixed
value). A YOTO module takes any weights of its training range; a weight the
model was not conditioned on (total variation; the style weights of a
content-only "specialist") is fixed, and a fixed-weight model ignores them.
Images are float32 [H, W, 3] in [0, 1].
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from yoto.clients import base

CONTENT_LOSS = "content_loss"


class StylizeError(base.ClientError):
  """Bad input from the user: reported without a traceback."""


def weight_name(loss: str) -> str:
  """'content_loss' -> 'content_weight', 'style_loss_3' -> 'style_weight_3'."""
  return loss.replace("_loss", "_weight")


class Stylizer(base.ModuleClient):
  """An exported style-transfer module and what its metadata says."""

  PROBLEM = "StyleTransferProblem"
  KIND = "style-transfer"
  SIGNATURES = ("stylize", "style_embedding", "stylize_with_embedding")
  Error = StylizeError

  @property
  def conditioned_losses(self) -> List[str]:
    """The losses whose weights the module's `weights` input takes."""
    return list(self.metadata["conditioned_losses"])

  @property
  def style_losses(self) -> List[str]:
    return [
      f"style_loss_{i + 1}" for i in range(len(self.metadata["style_layers"]))
    ]

  @property
  def min_image_size(self) -> int:
    return int(self.metadata.get("min_image_size", 8))

  def range_of(self, loss: str) -> Optional[Tuple[float, float]]:
    """The training range of a loss's weight (None if not conditioned)."""
    if loss not in self.conditioned_losses:
      return None
    return super().range_of(loss)

  def resolve_weights(
    self,
    content_weight: Optional[float] = None,
    style_weights: Optional[Sequence[float]] = None,
  ) -> Dict[str, float]:
    """User weights -> {loss: weight} for content and style losses.

    Missing weights take their default (range centre, or the fixed value).

    Raises:
      StylizeError: a wrong count, a non-positive weight, a weight outside
        the training range, or a change to a weight the model cannot vary.
    """
    defaults = self.metadata["default_weights"]
    weights = {
      n: float(defaults[n]) for n in [CONTENT_LOSS] + self.style_losses
    }
    if content_weight is not None:
      weights[CONTENT_LOSS] = float(content_weight)
    if style_weights is not None:
      if len(style_weights) != len(self.style_losses):
        raise StylizeError(
          f"--style_weights needs {len(self.style_losses)} values, one per "
          f"style layer ({', '.join(self.metadata['style_layers'])}); got "
          f"{len(style_weights)}."
        )
      weights.update(zip(self.style_losses, map(float, style_weights)))
    variable = ", ".join(weight_name(n) for n in self.conditioned_losses)
    for loss, value in weights.items():
      # A YOTO model's unconditioned weights are fixed; a fixed-weight model
      # ignores every weight.
      fixed = (
        float(defaults[loss])
        if self.is_conditioned and self.range_of(loss) is None
        else None
      )
      self.check_weight(
        loss,
        value,
        weight_name(loss),
        fixed,
        f" Weights it can vary: {variable}.",
      )
    return weights

  def check_image_size(self, shape: Sequence[int]) -> None:
    """Refuses images ([H, W, ...]) smaller than the network takes."""
    minimum = self.min_image_size
    if min(shape[:2]) < minimum:
      raise StylizeError(
        f"Images must be at least {minimum}x{minimum} "
        f"pixels; got {shape[0]}x{shape[1]}."
      )

  def weight_vector(self, weights: Dict[str, float]) -> np.ndarray:
    """The module's `weights` input: the conditioned losses, in order."""
    return np.array([weights[n] for n in self.conditioned_losses], np.float32)

  def embed(self, style: np.ndarray) -> tf.Tensor:
    """[h, w, 3] style image -> [1, E] embedding."""
    return self.module.style_embedding(
      style=tf.constant(style[np.newaxis], tf.float32)
    )["embedding"]

  def stylize(
    self, content: np.ndarray, style: np.ndarray, weights: Dict[str, float]
  ) -> np.ndarray:
    """One content image [H, W, 3] in one style at `weights`: [H, W, 3]."""
    return self.stylize_batch(
      content[np.newaxis], self.embed(style), [weights]
    )[0]

  def stylize_batch(
    self,
    content: np.ndarray,
    embedding: tf.Tensor,
    weights: Sequence[Dict[str, float]],
  ) -> np.ndarray:
    """Content [N or 1, H, W, 3] at N weight dicts (one embedding [1, E])."""
    vectors = np.stack([self.weight_vector(w) for w in weights])
    content = np.broadcast_to(content, (len(vectors),) + content.shape[1:])
    self.check_image_size(content.shape[1:3])
    return self.module.stylize_with_embedding(
      content=tf.constant(content, tf.float32),
      embedding=embedding,
      weights=tf.constant(vectors),
    )["stylized"].numpy()
