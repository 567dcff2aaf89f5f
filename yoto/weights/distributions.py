"""Distributions of loss weights: what YOTO samples λ from.

A `DistributionSpec` names a distribution type (uniform or log-uniform), one
`{'low': .., 'high': ..}` dict per loss (in sorted loss-name order) or a single
dict shared by all losses, and a transform applied to the samples.

Sampling is stateless (`tf.random.stateless_*`): the caller passes a seed of
shape [2], and training derives it from (run seed, step, replica id), so
samples are reproducible from `--seed` and differ between steps and replicas.

Evaluation and fixed-weight training describe weights as dicts
(`{'kl_loss': 4.0, 'reconstruction_loss': 1.0}`); `get_samples_as_dicts`
turns every accepted form (spec, spec class, dict, list of dicts, or a string
holding a dict or list) into a list of such dicts. Strings are parsed with
`ast.literal_eval`, never evaluated.
"""

import ast
import enum
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf


class DistributionType(enum.Enum):
  UNIFORM = 0
  LOG_UNIFORM = 1


class TransformType(enum.Enum):
  IDENTITY = 0
  LOG = 1


WeightsDict = Dict[str, float]
Range = Tuple[float, float]


class DistributionSpec:
  """A loss-weight distribution: type, per-loss bounds and a transform.

  Attributes:
    distribution_type: a `DistributionType`.
    params: one `{'low': float, 'high': float}` dict shared by every loss, or
      a list of such dicts, one per loss in sorted loss-name order.
    transform: a `TransformType` applied to the samples (IDENTITY in all the
      original configs; the model-input transform lives in YotoOptimizer).
  """

  def __init__(
    self,
    distribution_type: DistributionType,
    params: Union[Dict[str, float], Sequence[Dict[str, float]]],
    transform: TransformType = TransformType.IDENTITY,
  ):
    if not isinstance(distribution_type, DistributionType):
      raise ValueError(
        f"DistributionSpec.distribution_type must be one of "
        f"{[t.name for t in DistributionType]} (in gin: "
        f"%DistributionType.LOG_UNIFORM), got {distribution_type!r}."
      )
    if not isinstance(transform, TransformType):
      raise ValueError(
        f"DistributionSpec.transform must be one of "
        f"{[t.name for t in TransformType]} (in gin: "
        f"%TransformType.IDENTITY), got {transform!r}."
      )
    self.distribution_type = distribution_type
    self.params = params
    self.transform = transform
    for bounds in self._params_list():
      _check_bounds(bounds, distribution_type)

  def _params_list(self) -> List[Dict[str, float]]:
    if isinstance(self.params, dict):
      return [self.params]
    if isinstance(self.params, (list, tuple)) and self.params:
      return list(self.params)
    raise ValueError(
      "DistributionSpec.params must be a {'low': .., 'high': ..} dict or a "
      f"non-empty list of them (one per loss), got {self.params!r}."
    )

  def ranges(self, num_losses: int) -> List[Range]:
    """Returns `num_losses` (low, high) pairs, one per loss in sorted order."""
    params = self._params_list()
    if isinstance(self.params, dict):
      params = params * num_losses
    if len(params) != num_losses:
      raise ValueError(
        f"DistributionSpec.params has {len(params)} entries but the problem "
        f"has {num_losses} losses; give one {{'low', 'high'}} dict per loss "
        "(in sorted loss-name order) or a single dict for all."
      )
    return [(float(p["low"]), float(p["high"])) for p in params]

  def sample(
    self, num_samples: int, num_losses: int, seed: tf.Tensor
  ) -> tf.Tensor:
    """Draws a [num_samples, num_losses] float32 weight matrix.

    Args:
      num_samples: number of rows (examples), a Python int or scalar tensor.
      num_losses: number of columns, one per loss in sorted order.
      seed: int32/int64 tensor of shape [2] for stateless sampling.

    Returns:
      Tensor [num_samples, num_losses]: transformed samples.
    """
    low, high = zip(*self.ranges(num_losses))
    low = tf.constant(low, tf.float32)
    high = tf.constant(high, tf.float32)
    if self.distribution_type == DistributionType.LOG_UNIFORM:
      low, high = tf.math.log(low), tf.math.log(high)
    unit = tf.random.stateless_uniform(
      tf.stack([num_samples, num_losses]), seed=seed, dtype=tf.float32
    )
    samples = low + unit * (high - low)
    if self.distribution_type == DistributionType.LOG_UNIFORM:
      samples = tf.exp(samples)
    return get_transform(self.transform)(samples)

  def __repr__(self):
    return (
      f"DistributionSpec({self.distribution_type.name}, "
      f"{self.params!r}, {self.transform.name})"
    )


def _check_bounds(bounds: Any, distribution_type: DistributionType) -> None:
  if not isinstance(bounds, dict) or set(bounds) != {"low", "high"}:
    raise ValueError(
      "Each DistributionSpec.params entry must be a dict with exactly the "
      f"keys 'low' and 'high', got {bounds!r}."
    )
  low, high = bounds["low"], bounds["high"]
  for value in (low, high):
    if not isinstance(value, (int, float)) or not math.isfinite(value):
      raise ValueError(f"Bounds must be finite numbers, got {bounds!r}.")
  if low >= high:
    raise ValueError(
      f"Distribution bounds need low < high, got {bounds!r}. To fix a "
      "weight, use a narrow range such as {'low': 0.999, 'high': 1.001}."
    )
  if distribution_type == DistributionType.LOG_UNIFORM and low <= 0:
    raise ValueError(
      f"LOG_UNIFORM needs positive bounds (it samples log(weight)), got "
      f"{bounds!r}."
    )


def get_transform(
  transform_type: TransformType,
) -> Callable[[tf.Tensor], tf.Tensor]:
  """Returns the function mapping raw weights to transformed values."""
  if transform_type == TransformType.IDENTITY:
    return tf.identity
  if transform_type == TransformType.LOG:
    return tf.math.log
  raise ValueError(
    f"Unknown transform type {transform_type!r}; expected one "
    f"of {[t.name for t in TransformType]}."
  )


def parse_weights_spec(spec: Any) -> Union[DistributionSpec, List[WeightsDict]]:
  """Normalises every accepted weight specification.

  Args:
    spec: a DistributionSpec, a zero-argument callable returning one (a gin
      class reference), a weights dict, a list of weights dicts, or a string
      holding a dict or list literal.

  Returns:
    A DistributionSpec, or a non-empty list of weights dicts.
  """
  if isinstance(spec, str):
    try:
      spec = ast.literal_eval(spec)
    except (ValueError, SyntaxError) as e:
      raise ValueError(
        f"Could not parse the weights string {spec!r}: it must be a Python "
        "literal dict or list of dicts, e.g. \"{'kl_loss': 1.0, "
        f"'reconstruction_loss': 1.0}}\" ({e})."
      ) from None
  if isinstance(spec, DistributionSpec):
    return spec
  if isinstance(spec, dict):
    return [spec]
  if isinstance(spec, (list, tuple)):
    if not spec or not all(isinstance(d, dict) for d in spec):
      raise ValueError(
        "A list of loss weights must be non-empty and hold only dicts "
        f"mapping loss names to weights, got {spec!r}."
      )
    return list(spec)
  if callable(spec):
    made = spec()
    if isinstance(made, DistributionSpec):
      return made
    raise ValueError(f"Calling {spec!r} gave {made!r}, not a DistributionSpec.")
  raise ValueError(
    "Loss weights must be a DistributionSpec (or its class), a dict, a list "
    f"of dicts, or a string holding one of those; got {spec!r}."
  )


def check_weights_dict(weights: WeightsDict, names: Sequence[str]) -> None:
  """Raises ValueError unless `weights` has exactly `names` as numeric keys."""
  if set(weights) != set(names):
    missing = sorted(set(names) - set(weights))
    extra = sorted(set(weights) - set(names))
    raise ValueError(
      f"Loss weights {weights!r} do not match the problem's losses "
      f"{sorted(names)}: missing {missing}, unknown {extra}."
    )
  for name, value in weights.items():
    if not isinstance(value, (int, float, np.floating, np.integer)):
      raise ValueError(f"Weight for {name!r} must be a number, got {value!r}.")


def get_samples_as_dicts(
  spec: Any,
  num_samples: int = 1,
  names: Optional[Sequence[str]] = None,
  seed: int = 17,
) -> List[WeightsDict]:
  """Turns any weight specification into a list of {loss name: weight}.

  Args:
    spec: see `parse_weights_spec`.
    num_samples: how many vectors to draw when `spec` is a distribution.
    names: the problem's loss names; required for a distribution, checked
      against the keys of given dicts.
    seed: Python int seed for drawing from a distribution.

  Returns:
    List of dicts mapping each loss name to a float weight.
  """
  parsed = parse_weights_spec(spec)
  if isinstance(parsed, DistributionSpec):
    if names is None:
      raise ValueError(
        "Sampling weight dicts from a DistributionSpec needs the loss names."
      )
    names = sorted(names)
    samples = parsed.sample(
      num_samples, len(names), seed=tf.constant([seed, 0], tf.int64)
    ).numpy()
    return [{n: float(row[i]) for i, n in enumerate(names)} for row in samples]
  if names is not None:
    for weights in parsed:
      check_weights_dict(weights, names)
  return [{k: float(v) for k, v in w.items()} for w in parsed]


def weights_matrix(
  weights_dicts: Sequence[WeightsDict], names: Sequence[str]
) -> np.ndarray:
  """Stacks weight dicts into a float32 [len(weights_dicts), len(names)]."""
  names = sorted(names)
  for weights in weights_dicts:
    check_weights_dict(weights, names)
  return np.array([[w[n] for n in names] for w in weights_dicts], np.float32)
