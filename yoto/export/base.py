"""The base of every exported hub module (a TF2 SavedModel).

Each problem's module (`yoto.export.vae`, `.compression`, `.style_transfer`)
is an `ExportModule`: it registers typed `tf.function`s as signatures
(`add_signature`), turns raw loss weights into the network's `inputs_extra`
inside the graph with the loss-weight contract's checks
(`inputs_extra_at`), and offers a `metadata()` signature whose JSON holds the
problem's facts and the contract (`LossConditioning.from_json` reads it
back). It also carries the attributes of TF Hub's Reusable SavedModel:
`variables`, `trainable_variables` and, when the subclass names one, a
default `__call__`, so `hub.KerasLayer(path, trainable=True)` can fine-tune
the module.

Modules track variables, not the Keras networks: saving the networks would
make SavedModel trace every layer's call functions too (most of a minute,
and nothing the signatures need). Subclasses reach their problem through
`self._problem.value` (an `Untracked` holder) instead.
"""

import json
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import tensorflow as tf

from yoto.utils import untracked
from yoto.weights import contract


def gated(tensor: tf.Tensor, checks: Sequence[Any]) -> tf.Tensor:
  """`tensor`, computed only after `checks` (assertions or tensors) ran."""
  with tf.control_dependencies(list(checks)):
    return tf.identity(tensor)


class ExportModule(tf.Module):
  """A problem's exported functions, metadata and variables.

  Attributes:
    variables, trainable_variables: plain lists (TF Hub's Reusable
      SavedModel reads them from the saved object), not tf.Module's
      computed properties.
    model_variables: the same variables, under the name modules had before
      this base existed.
    signatures: {name: concrete function}, what `tf.saved_model.save`
      exports as signatures.
  """

  variables = ()
  trainable_variables = ()

  def __init__(
    self,
    name: str,
    problem: Any,
    variables: Sequence[tf.Variable],
    conditioning: contract.LossConditioning,
    metadata: Mapping[str, Any],
  ):
    """Records the variables, the contract and the metadata.

    Args:
      name: the tf.Module name.
      problem: the problem whose functions the signatures call (untracked).
      variables: every variable the signatures read, frozen ones included.
      conditioning: the loss-weight contract the model was trained with.
      metadata: JSON-ready facts about the problem; the contract's fields
        are added to them.
    """
    super().__init__(name=name)
    self._problem = untracked.Untracked(problem)
    self._conditioning = conditioning
    self.model_variables = list(variables)
    self.variables = list(variables)
    self.trainable_variables = [v for v in variables if v.trainable]
    self._metadata = json.dumps(
      {**metadata, **conditioning.to_dict()}, sort_keys=True
    )
    self._signatures: Dict[str, Any] = {}

  def add_signature(
    self, name: str, fn: Callable, *specs: tf.TensorSpec, default: bool = False
  ) -> None:
    """Exports `fn` as the signature `name` with inputs `specs`.

    `fn` takes one tensor per spec and returns a dict of tensors. With
    `default`, it is also the module's `__call__`, which takes the specs'
    tensors as one list (a single tensor for a single spec), as
    `hub.KerasLayer` passes its inputs.
    """
    function = tf.function(fn, input_signature=list(specs))
    setattr(self, name, function)
    self._signatures[name] = function.get_concrete_function()
    if default:
      if len(specs) == 1:
        call, signature = fn, [specs[0]]
      else:
        call, signature = (lambda inputs: fn(*inputs)), [list(specs)]
      self.__call__ = tf.function(call, input_signature=signature)

  def add_metadata_signature(self) -> None:
    """Exports `metadata() -> {metadata: JSON string}`."""
    self.add_signature(
      "metadata", lambda: {"metadata": tf.constant(self._metadata)}
    )

  @property
  def signatures(self) -> Dict[str, Any]:
    return dict(self._signatures)

  def inputs_extra_at(
    self, loss_weights: tf.Tensor, batch_tensor: tf.Tensor
  ) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
    """Checks raw weights and turns them into the network's input.

    Args:
      loss_weights: raw weights [n] (one vector for the batch) or
        [batch, n], in the contract's sorted loss order.
      batch_tensor: a [batch, ...] input of the call; it sets the batch.

    Returns:
      (`batch_tensor` gated on the checks, `inputs_extra` [batch, n] or
      None for a fixed-weight model, which ignores the weights after
      checking that they are well-formed and positive).
    """
    conditioned = self._conditioning.is_conditioned
    inputs_extra = self._conditioning.weights_to_inputs_extra(
      loss_weights,
      batch_size=tf.shape(batch_tensor)[0],
      check_range=conditioned,
    )
    return (
      gated(batch_tensor, [inputs_extra]),
      inputs_extra if conditioned else None,
    )


def weight_and_one(value: tf.Tensor) -> tf.Tensor:
  """Raw weights [w, 1] for a scalar w, or [B, 2] for per-example w [B].

  The two-loss problems' convenience inputs: the β-VAE's [kl_loss,
  reconstruction_loss] = [β, 1] and compression's [distortion, rate] =
  [λ, 1], both in sorted loss order.
  """
  value = tf.convert_to_tensor(value, tf.float32)
  return tf.stack([value, tf.ones_like(value)], axis=-1)
