"""The `Problem` interface: a task's networks, losses, metrics and exports.

A problem knows its loss names and, given a batch of features and the
conditioning input `inputs_extra` ([batch, num_losses], or None for an
unconditioned model), returns per-example losses and metrics. It knows nothing
about how the losses are weighted: that is the multi-loss optimizer's job.
This split lets the β-VAE (reconstruction/KL), image compression
(rate/distortion) and style transfer (content/style/TV) share one training
loop, one evaluator and one exporter.
"""

import abc
from typing import Dict, List, Mapping, Optional, Tuple

import tensorflow as tf

from yoto.architectures import conditioning as conditioning_layers
from yoto.weights import contract

Tensors = Dict[str, tf.Tensor]


class Problem(tf.Module, metaclass=abc.ABCMeta):
  """Base class of all tasks.

  Lifecycle: construct (cheap, no variables) -> `initialize_model` inside the
  distribution strategy's scope (creates the networks and their variables)
  -> `losses_and_metrics` in training and evaluation -> `export_module`.

  Attributes:
    after_run_plot: the `python -m yoto.plot` subcommand that
      `python -m yoto.main` draws from a conditioned run's last hub module
      once it is evaluated (e.g. the β-VAE's 'grid'); None draws nothing.
  """

  # Whether the problem works under a Keras mixed-precision policy
  # (`experiment.mixed_precision_policy`): its networks compute in 16 bits
  # and it casts their outputs to float32 before computing the losses.
  supports_mixed_precision: bool = False
  after_run_plot: Optional[str] = None

  @property
  @abc.abstractmethod
  def losses_keys(self) -> Tuple[str, ...]:
    """Names of the per-example losses `losses_and_metrics` returns."""

  @abc.abstractmethod
  def initialize_model(
    self,
    element_spec: Mapping[str, tf.TensorSpec],
    num_conditioning_inputs: Optional[int],
    conditioning: Optional[contract.LossConditioning] = None,
  ) -> None:
    """Creates the networks and builds their variables.

    Args:
      element_spec: TensorSpecs of one *batched* feature dict.
      num_conditioning_inputs: width of `inputs_extra`, or None for a model
        without conditioning.
      conditioning: the optimizer's loss-weight contract, whose training
        ranges a `conditioning_input_offset` of 'centre' is the centre of
        (`contract.resolve_input_offset`); None when unknown.
    """

  @abc.abstractmethod
  def losses_and_metrics(
    self,
    features: Mapping[str, tf.Tensor],
    inputs_extra: Optional[tf.Tensor] = None,
    training: bool = False,
    seed: Optional[tf.Tensor] = None,
  ) -> Tuple[Tensors, Tensors]:
    """Per-example losses and metrics.

    Args:
      features: a batch of features, each [batch, ...].
      inputs_extra: [batch, num_conditioning_inputs] or None.
      training: whether this is a training step.
      seed: int tensor [2] for any stateless sampling the problem does.

    Returns:
      (losses, metrics): dicts of [batch] float32 tensors; `losses` has
      exactly the keys `losses_keys`.
    """

  @abc.abstractmethod
  def export_module(self, conditioning: contract.LossConditioning) -> tf.Module:
    """A tf.Module whose `signatures` dict is what the hub module exports."""

  @property
  def conditioning_variables(self) -> List[tf.Variable]:
    """The trainable variables that map loss weights to modulation.

    What the networks' conditioning layers declare (FiLM MLPs, conditional
    normalizations, loss-weight embeddings), in `trainable_variables`
    order; the trainer gives them their own optimizer when one is
    configured. Empty for an unconditioned model.
    """
    return conditioning_layers.conditioning_variables(self)

  def image_summaries(
    self, features: Mapping[str, tf.Tensor], inputs_extra: Optional[tf.Tensor]
  ) -> Tensors:
    """Images worth showing in TensorBoard, each [batch, H, W, 3] in [0, 1]."""
    del features, inputs_extra
    return {}
